// The session manager: one realtime session over an abstract transport, kept alive across link
// failures. Pure logic, confined to the controller loop: not thread-safe, no locks, no sleeping.
// The controller feeds it transport events (`handle`), calls `tick()` at or after
// `nextDeadline`, and receives `SessionEvent`s through `onEvent`.
//
// Per connection: connect → `.opened` → send `session.update` (the current config) before
// anything else → `session.updated` → ready → flush the queue. Keepalive pings every
// `pingInterval`; nothing received for `deadAfter` → abort and reconnect. Lost links reconnect
// after a jittered exponential backoff; a rejected API key or session config waits the cap.
// Before the service's session cap the session is renewed (clean close, immediate reconnect)
// while no turn is in progress.

import Logging
import RealtimeProtocol

public final class SessionManager {
    // MARK: Public state

    public private(set) var state: SessionState = .disconnected
    public private(set) var counters = SessionCounters()
    /// The config sent on every (re)connect; replaced by `updateSession`.
    public private(set) var session: SessionConfig
    /// Where to connect; replaced by `updateRequest`, used from the next connect on.
    public private(set) var request: ConnectRequest
    public let settings: SessionSettings

    // MARK: Collaborators

    private let transport: any RealtimeTransport
    private let clock: any MonotonicClock
    private let random: () -> Double
    private let logger: Logger
    private let onEvent: (SessionEvent) -> Void

    // MARK: Internal state

    private var backoff: ReconnectBackoff
    private var queue = SessionOutgoingQueue()
    private var turn: SessionTurnTracker

    /// When the current `transport.connect` was issued.
    private var connectStartedAt: Duration?
    /// When the current link opened (the service's session clock starts here).
    private var openedAt: Duration?
    private var lastFrameAt: Duration = .zero
    private var nextPingAt: Duration?
    private var closeDeadline: Duration?
    private var afterClose: AfterClose = .stop
    /// Our `session.update` if the transport refused it at open; retried on `.writable`.
    private var pendingConfigText: String?
    /// Event ids of our `session.update`s on this link (for matching an `error` to them).
    private var configEventIDs: Set<String> = []
    private var renewalPostponedLogged = false
    private var droppingSinceDrain = 0

    private let idTag: String
    private var idCounter: UInt64 = 0

    private var pendingEvents: [SessionEvent] = []
    private var delivering = false

    private enum AfterClose: Equatable {
        case stop
        case renew
        case reconnect(LinkLossReason, Wait)
    }

    private enum Wait: Equatable {
        /// Jittered exponential backoff.
        case backoff
        /// Exactly the cap (the config was rejected).
        case cap
        /// Exactly the cap, in the `authFailed` state.
        case auth
    }

    // MARK: Init

    /// - Parameters:
    ///   - random: uniform values in [0, 1) for the reconnect jitter (inject a fixed source in tests).
    ///   - onEvent: called on the controller loop, after the call that caused the event has
    ///     finished its work; it may call back into the manager.
    public init(request: ConnectRequest, session: SessionConfig, transport: any RealtimeTransport,
                clock: any MonotonicClock = SystemMonotonicClock(), settings: SessionSettings = SessionSettings(),
                random: @escaping () -> Double = { Double.random(in: 0..<1) },
                logger: Logger = Logger(label: "omnid.session"),
                onEvent: @escaping (SessionEvent) -> Void) {
        self.request = request
        self.session = session
        self.transport = transport
        self.clock = clock
        self.settings = settings
        self.random = random
        self.logger = logger
        self.onEvent = onEvent
        self.backoff = ReconnectBackoff(policy: settings.reconnect)
        self.turn = SessionTurnTracker(idleTimeout: settings.turnIdleTimeout)
        var g = SystemRandomNumberGenerator()
        let tag = String(g.next() & 0xFFFF_FFFF_FFFF, radix: 16)
        self.idTag = String(repeating: "0", count: max(0, 12 - tag.count)) + tag
    }

    // MARK: Queries

    /// When the controller must call `tick()` next (clock time), or nil when no timer runs.
    public var nextDeadline: Duration? {
        switch state {
        case .disconnected:
            return nil
        case .connecting:
            return connectStartedAt.map { $0 + settings.connectTimeout }
        case .configuring:
            return [connectStartedAt.map { $0 + settings.connectTimeout }, lastFrameAt + settings.deadAfter, nextPingAt]
                .compactMap { $0 }.min()
        case .ready:
            return [lastFrameAt + settings.deadAfter, nextPingAt, renewalDeadline()].compactMap { $0 }.min()
        case .closing:
            return closeDeadline
        case .waitingToReconnect(let until, _), .authFailed(let until, _):
            return until
        }
    }

    /// Whether a turn (user speech, awaited or streaming response) is in progress.
    public var isTurnInProgress: Bool { turn.isInProgress(at: clock.now()) }
    /// Messages waiting in our queue (not yet handed to the transport).
    public var queuedMessages: Int { queue.count }
    public var queuedAudioMessages: Int { queue.audioCount }
    /// The retry number the next ordinary link loss will use.
    public var reconnectAttempt: Int { backoff.attempt }

    // MARK: Lifecycle

    /// Connects, if disconnected. Idempotent otherwise.
    public func start() {
        defer { deliverEvents() }
        guard state == .disconnected else {
            logger.debug("start() ignored: session is \(state.phase.rawValue)")
            return
        }
        backoff.reset()
        connect(reconnecting: false)
    }

    /// Ends the session gracefully (close 1000) and does not reconnect. Queued messages are
    /// discarded. To end with `session.finish` first (§3.8), call `finishSession()` and `stop()`
    /// once `session.finished` arrives.
    public func stop() {
        defer { deliverEvents() }
        queue.removeAll()
        turn.reset()
        switch state {
        case .disconnected:
            return
        case .connecting:
            logger.info("stopping: connect abandoned")
            transport.abort()
            clearLink()
            transition(to: .disconnected)
        case .configuring, .ready:
            logger.info("stopping: closing the session")
            beginClose(then: .stop, reason: "bye")
        case .closing:
            afterClose = .stop
        case .waitingToReconnect, .authFailed:
            logger.info("stopping: reconnect cancelled")
            transition(to: .disconnected)
        }
    }

    /// In a wait state, connects now instead of at the scheduled time (e.g. after a config reload
    /// fixed the API key). Otherwise does nothing.
    public func reconnectNow() {
        defer { deliverEvents() }
        switch state {
        case .waitingToReconnect, .authFailed: connect(reconnecting: true)
        default: break
        }
    }

    /// Replaces the session config. When ready it is sent at once (no reconnect) in queue order;
    /// it is always what the next connect sends first.
    public func updateSession(_ config: SessionConfig) {
        defer { deliverEvents() }
        session = config
        switch state {
        case .ready, .configuring:
            // While configuring, our first update is still unanswered: send the new one once ready.
            enqueue(.sessionUpdate(config), kind: .sessionUpdate)
        default:
            logger.debug("session config replaced; used on the next connect")
        }
    }

    /// Replaces where to connect (URL, headers, TLS); used from the next connect on.
    public func updateRequest(_ request: ConnectRequest) {
        self.request = request
    }

    // MARK: Outgoing

    /// Queues `input_audio_buffer.append` (Base64 of 16 kHz mono s16le).
    public func appendAudio(base64: String) {
        defer { deliverEvents() }
        enqueue(.inputAudioBufferAppend(audio: base64), kind: .audio)
    }

    /// Queues `input_audio_buffer.append` for 16 kHz mono samples.
    public func appendAudio(samples: UnsafeBufferPointer<Int16>) {
        appendAudio(base64: PCM16.base64(samples))
    }

    public func appendAudio(samples: [Int16]) {
        appendAudio(base64: PCM16.base64(samples))
    }

    /// Queues `input_image_buffer.append` (Base64 JPEG). At most `maxQueuedImages` wait; older ones are dropped.
    public func appendImage(base64: String) {
        defer { deliverEvents() }
        enqueue(.inputImageBufferAppend(image: base64), kind: .image)
    }

    /// Queues `input_audio_buffer.commit`.
    public func commit() {
        defer { deliverEvents() }
        enqueue(.inputAudioBufferCommit, kind: .control)
    }

    /// Queues `input_audio_buffer.clear`.
    public func clearInputBuffer() {
        defer { deliverEvents() }
        enqueue(.inputAudioBufferClear, kind: .control)
    }

    /// Queues `response.create`.
    public func createResponse(_ params: ResponseParameters? = nil) {
        defer { deliverEvents() }
        enqueue(.responseCreate(params), kind: .control)
    }

    /// Queues `response.cancel`.
    public func cancelResponse() {
        defer { deliverEvents() }
        enqueue(.responseCancel, kind: .control)
    }

    /// Queues `session.finish` (§3.8). The manager keeps the link; see `stop()`.
    public func finishSession() {
        defer { deliverEvents() }
        enqueue(.sessionFinish, kind: .control)
    }

    // MARK: Input from the controller

    /// One transport event, in the order the transport reported them.
    public func handle(_ event: TransportEvent) {
        defer { deliverEvents() }
        let now = clock.now()
        switch event {
        case .opened:
            opened(at: now)
        case .text(let text):
            received(text, at: now)
        case .pong:
            if state.hasLink { lastFrameAt = now }
        case .writable:
            if state == .configuring { sendPendingConfig() }
            flush()
        case .closed(let code, let reason):
            closed(code: code, reason: reason, at: now)
        case .failed(let failure):
            failed(failure, at: now)
        }
        checkRenewal(at: now)
    }

    /// Runs the timers that are due: connect/close timeouts, pings, dead-link detection,
    /// reconnects and session renewal. Call at or after `nextDeadline`; extra calls are harmless.
    public func tick() {
        defer { deliverEvents() }
        let now = clock.now()
        switch state {
        case .disconnected:
            break
        case .connecting, .configuring:
            if let s = connectStartedAt, now - s >= settings.connectTimeout {
                logger.warning("timed out opening the session after \(now - s); aborting")
                transport.abort()
                loseLink(.connectTimeout, wait: .backoff, at: now)
            } else if state == .configuring {
                keepalive(at: now)
            }
        case .ready:
            if keepalive(at: now) { checkRenewal(at: now) }
        case .closing:
            if let d = closeDeadline, now >= d {
                logger.warning("no close confirmation within \(settings.closeTimeout); aborting the link")
                transport.abort()
                finishClose(at: now)
            }
        case .waitingToReconnect(let until, _), .authFailed(let until, _):
            if now >= until { connect(reconnecting: true) }
        }
        flush()
    }

    // MARK: Connection lifecycle

    private func connect(reconnecting: Bool) {
        let now = clock.now()
        clearLink()
        counters.connectAttempts += 1
        if reconnecting { counters.reconnects += 1 }
        connectStartedAt = now
        transition(to: .connecting)
        logger.info("connecting to \(redact(request.description))")
        transport.connect(request)
    }

    private func opened(at now: Duration) {
        guard state == .connecting else {
            logger.debug("ignoring stale .opened in state \(state.phase.rawValue)")
            return
        }
        openedAt = now
        lastFrameAt = now
        nextPingAt = now + settings.pingInterval
        // The current config goes first; queued updates are redundant now.
        queue.removeAll(ofKind: .sessionUpdate)
        transition(to: .configuring)
        logger.debug("link open; sending session.update")
        let id = nextEventID()
        configEventIDs.insert(id)
        let text = ClientEvent(eventID: id, .sessionUpdate(session)).encoded()
        pendingConfigText = text
        sendPendingConfig()
    }

    private func sendPendingConfig() {
        guard let text = pendingConfigText else { return }
        if transport.send(text: text) {
            counters.messagesSent += 1
            pendingConfigText = nil
        } else {
            logger.debug("transport busy; session.update waits for .writable")
        }
    }

    private func becomeReady(at now: Duration) {
        transition(to: .ready)
        backoff.connectionReady(at: now)
        pendingEvents.append(.ready)
        logger.info("session ready (\(queue.count) queued message(s))")
        flush()
    }

    private func closed(code: Int, reason: String, at now: Duration) {
        switch state {
        case .closing:
            logger.debug("link closed (\(code))")
            finishClose(at: now)
        case .connecting, .configuring, .ready:
            let r = LinkLossReason.closedByPeer(code: code, reason: reason)
            logger.warning("link closed by the service: code \(code)\(reason.isEmpty ? "" : " (\(redact(reason)))")")
            loseLink(r, wait: .backoff, at: now)
        case .disconnected, .waitingToReconnect, .authFailed:
            logger.debug("ignoring stale .closed in state \(state.phase.rawValue)")
        }
    }

    private func failed(_ failure: TransportFailure, at now: Duration) {
        switch state {
        case .closing:
            logger.debug("link failed while closing: \(redact(failure.description))")
            finishClose(at: now)
        case .connecting, .configuring, .ready:
            let during = state == .connecting ? "connection attempt failed" : "link failed"
            let detail = redact(failure.description)
            if failure.isAuthFailure {
                logger.error("\(during): the service rejected the API key (\(detail)); retrying in \(settings.reconnect.fixedFailureDelay) — check the key",
                             metadata: ["failure": "\(failure.kindName)"])
                loseLink(.transport(failure), wait: .auth, at: now)
            } else if state != .connecting, case .connect = failure {
                // An open link that dropped (reset, timeout): not a failed connect attempt.
                logger.warning("link lost: \(detail)", metadata: ["failure": "dropped"])
                loseLink(.transport(failure), wait: .backoff, at: now)
            } else {
                logger.warning("\(during) [\(failure.kindName)]: \(detail)", metadata: ["failure": "\(failure.kindName)"])
                loseLink(.transport(failure), wait: .backoff, at: now)
            }
        case .disconnected, .waitingToReconnect, .authFailed:
            logger.debug("ignoring stale .failed in state \(state.phase.rawValue)")
        }
    }

    /// The link is gone (already aborted or closed): report it and schedule the next connect.
    private func loseLink(_ reason: LinkLossReason, wait: Wait, at now: Duration) {
        pendingEvents.append(.linkLost(reason))
        scheduleReconnect(reason, wait: wait, at: now)
    }

    private func scheduleReconnect(_ reason: LinkLossReason, wait: Wait, at now: Duration) {
        clearLink()
        let delay: Duration
        switch wait {
        case .backoff: delay = backoff.nextDelay(at: now, random: random())
        case .cap, .auth: delay = backoff.fixedDelay(at: now)
        }
        let until = now + delay
        if wait == .auth {
            transition(to: .authFailed(until: until, reason: reason))
        } else {
            transition(to: .waitingToReconnect(until: until, reason: reason))
        }
        logger.info("reconnecting in \(delay) (retry \(backoff.attempt))")
    }

    /// Sends a close frame and waits (bounded) for `.closed`, then does `then`.
    private func beginClose(then: AfterClose, reason: String) {
        afterClose = then
        closeDeadline = clock.now() + settings.closeTimeout
        transition(to: .closing)
        transport.close(code: 1000, reason: reason)
    }

    private func finishClose(at now: Duration) {
        closeDeadline = nil
        switch afterClose {
        case .stop:
            clearLink()
            backoff.reset()
            transition(to: .disconnected)
        case .renew:
            counters.renewals += 1
            connect(reconnecting: false)
        case .reconnect(let reason, let wait):
            scheduleReconnect(reason, wait: wait, at: now)
        }
    }

    /// Forgets everything that belongs to one connection.
    private func clearLink() {
        connectStartedAt = nil
        openedAt = nil
        nextPingAt = nil
        closeDeadline = nil
        pendingConfigText = nil
        configEventIDs.removeAll()
        renewalPostponedLogged = false
        turn.reset()
    }

    // MARK: Keepalive and renewal

    /// Pings and dead-link detection; false when the link was declared dead.
    @discardableResult
    private func keepalive(at now: Duration) -> Bool {
        let silence = now - lastFrameAt
        if silence >= settings.deadAfter {
            counters.deadLinks += 1
            logger.warning("no frames for \(silence); aborting the link")
            transport.abort()
            loseLink(.deadLink(silence: silence), wait: .backoff, at: now)
            return false
        }
        if let p = nextPingAt, now >= p {
            transport.ping()
            counters.pingsSent += 1
            let next = p + settings.pingInterval
            nextPingAt = next > now ? next : now + settings.pingInterval
        }
        return true
    }

    /// When the current session is due for renewal (or, once due, when the blocking turn ends at
    /// the latest); nil without a session cap.
    private func renewalDeadline() -> Duration? {
        guard let due = renewalDue() else { return nil }
        let now = clock.now()
        if now < due { return due }
        return turn.nextExpiry(after: now) ?? now
    }

    private func renewalDue() -> Duration? {
        guard let cap = settings.maxSessionLength, let opened = openedAt else { return nil }
        return opened + max(.zero, cap - settings.renewalMargin)
    }

    private func checkRenewal(at now: Duration) {
        guard state == .ready, let due = renewalDue(), now >= due else { return }
        if turn.isInProgress(at: now) {
            if !renewalPostponedLogged {
                logger.info("session renewal due; postponed until the current turn ends")
                renewalPostponedLogged = true
            }
            return
        }
        logger.info("renewing the session before the service's \(settings.maxSessionLength ?? .zero) cap")
        beginClose(then: .renew, reason: "session renewal")
    }

    // MARK: Outgoing queue

    private var isManualMode: Bool { session.turnDetection == .null }

    private func enqueue(_ body: ClientEventBody, kind: SessionOutgoingQueue.Kind) {
        let now = clock.now()
        turn.client(body, manualMode: isManualMode, at: now)
        let id = nextEventID()
        let text = ClientEvent(eventID: id, body).encoded()
        queue.append(.init(kind: kind, eventID: id, type: body.type, text: text))
        flush()
        enforceBounds()
    }

    private func enforceBounds() {
        var dropped = 0
        while queue.audioCount > max(0, settings.maxQueuedAudio), queue.dropOldest(.audio) != nil {
            dropped += 1
        }
        if dropped > 0 {
            counters.droppedAudioFrames += dropped
            if droppingSinceDrain == 0 {
                logger.warning("link slower than real time or not ready: dropping the oldest queued audio")
            }
            droppingSinceDrain += dropped
            pendingEvents.append(.droppedAudio(total: counters.droppedAudioFrames))
        }
        while queue.imageCount > max(0, settings.maxQueuedImages), queue.dropOldest(.image) != nil {
            counters.droppedImages += 1
            logger.debug("dropped a queued image (\(counters.droppedImages) so far)")
        }
    }

    /// Hands queued messages to the transport while ready and while it accepts them.
    private func flush() {
        guard state == .ready else { return }
        while let m = queue.first {
            guard transport.send(text: m.text) else { break }
            queue.removeFirst()
            counters.messagesSent += 1
            if m.kind == .sessionUpdate { configEventIDs.insert(m.eventID) }
        }
        if queue.isEmpty, droppingSinceDrain > 0 {
            logger.notice("send queue drained after dropping \(droppingSinceDrain) audio message(s)")
            droppingSinceDrain = 0
        }
    }

    private func nextEventID() -> String {
        idCounter &+= 1
        return "event_\(idTag)\(String(idCounter, radix: 16))"
    }

    // MARK: Incoming

    private func received(_ text: String, at now: Duration) {
        guard state == .configuring || state == .ready else {
            logger.debug("ignoring a frame in state \(state.phase.rawValue)")
            return
        }
        lastFrameAt = now
        counters.messagesReceived += 1
        let event: ServerEvent
        do {
            event = try ServerEvent.decode(text)
        } catch {
            counters.malformedFrames += 1
            logger.warning("skipping malformed frame (\(counters.malformedFrames) so far): \(error)")
            return
        }
        if case .unknown(let type) = event.body {
            counters.unknownEvents += 1
            logger.debug("ignoring unknown event type \(redact(type))")
            return
        }
        pendingEvents.append(.server(event))
        turn.server(event.body, at: now)
        switch event.body {
        case .sessionUpdated:
            if state == .configuring { becomeReady(at: now) }
        case .error(let detail):
            serverError(detail, at: now)
        default:
            break
        }
    }

    private func serverError(_ d: ErrorDetail, at now: Duration) {
        counters.serverErrors += 1
        let message = redact(d.message)
        let desc = "\(d.type ?? "-")/\(d.code ?? "-"): \(message)"
        let reason = LinkLossReason.serverError(type: d.type, code: d.code, message: d.message)
        if Self.isAuthError(d) {
            report(d, recoverable: false)
            logger.error("the service rejected the API key (\(desc)); retrying in \(settings.reconnect.fixedFailureDelay) — check the key")
            pendingEvents.append(.linkLost(reason))
            beginClose(then: .reconnect(reason, .auth), reason: "authentication failed")
        } else if state == .configuring && (d.isRecoverable || d.eventID.map(configEventIDs.contains) == true) {
            report(d, recoverable: false)
            logger.error("the service rejected the session config (\(desc)); retrying in \(settings.reconnect.fixedFailureDelay) — fix the config")
            let r = LinkLossReason.invalidConfig(code: d.code, message: d.message)
            pendingEvents.append(.linkLost(r))
            beginClose(then: .reconnect(r, .cap), reason: "invalid session config")
        } else if !d.isRecoverable {
            report(d, recoverable: false)
            logger.warning("fatal server error (\(desc)); closing and reconnecting")
            pendingEvents.append(.linkLost(reason))
            beginClose(then: .reconnect(reason, .backoff), reason: "server error")
        } else {
            report(d, recoverable: true)
            if d.eventID.map(configEventIDs.contains) == true {
                logger.warning("session.update rejected (\(desc)); the service keeps its previous config")
            } else {
                logger.notice("service error, session continues (\(desc))")
            }
        }
    }

    private func report(_ d: ErrorDetail, recoverable: Bool) {
        pendingEvents.append(.serverError(code: d.code, message: d.message, type: d.type, recoverable: recoverable))
    }

    /// Whether a server `error` says the API key is missing or invalid (the handshake usually
    /// fails with HTTP 401/403 instead; this covers services that answer with an event).
    public static func isAuthError(_ e: ErrorDetail) -> Bool {
        let code = (e.code ?? "").lowercased().filter { $0.isLetter }
        if ["invalidapikey", "unauthorized", "authenticationerror", "invalidauthentication"].contains(code) { return true }
        let type = (e.type ?? "").lowercased()
        if type == "authentication_error" || type == "unauthorized" { return true }
        let m = e.message.lowercased()
        return ["api key", "api-key", "apikey", "api_key", "unauthorized"].contains { m.contains($0) }
    }

    // MARK: State and events

    /// The one place the state changes.
    private func transition(to new: SessionState) {
        let old = state
        guard old != new else { return }
        if !SessionState.isValidTransition(from: old.phase, to: new.phase) {
            logger.error("invalid session state transition \(old.phase.rawValue) -> \(new.phase.rawValue)")
        }
        state = new
        logger.debug("session state: \(old.phase.rawValue) -> \(redact(new.description))")
        pendingEvents.append(.stateChanged(new))
    }

    private func deliverEvents() {
        guard !delivering else { return }
        delivering = true
        defer { delivering = false }
        var i = 0
        while i < pendingEvents.count {
            let e = pendingEvents[i]
            i += 1
            onEvent(e)
        }
        pendingEvents.removeAll(keepingCapacity: true)
    }

    /// Removes header values (the API key) from text that came from outside (server messages,
    /// transport error strings) before it is logged.
    private func redact(_ text: String) -> String {
        var out = text
        for h in request.headers {
            var secrets = [h.value]
            if let space = h.value.lastIndex(of: " ") { secrets.append(String(h.value[h.value.index(after: space)...])) }
            for s in secrets where s.count >= 6 {
                out = out.replacing(s, with: "<redacted>")
            }
        }
        return out
    }
}

extension TransportFailure {
    /// A short name for logs and metrics.
    fileprivate var kindName: String {
        switch self {
        case .dns: "DNS"
        case .tls: "TLS"
        case .connect: "connect"
        case .httpStatus: "HTTP"
        case .protocolError: "protocol"
        case .refused: "refused"
        }
    }
}
