// The session manager: one realtime session over an abstract transport, kept alive across link
// failures. Pure logic, confined to the controller loop: not thread-safe, no locks, no sleeping.
// The controller feeds it transport events (`handle`), calls `tick()` at or after
// `nextDeadline`, and receives `SessionEvent`s through `onEvent`.
//
// Per connection: connect → `.opened` → send `session.update` (the current config) before
// anything else → `session.updated` → ready → flush the queue. Keepalive pings every
// `pingInterval`; nothing received for `deadAfter` → abort and reconnect. Lost links reconnect
// after a jittered exponential backoff; a rejected API key or session config waits the cap.
// The service's own rules (its idle close, its session cap) are not outages: the session is
// renewed quietly before either deadline while no turn is in progress, and a routine close the
// service makes anyway is followed by an immediate reconnect; both are reported as `.renewing`,
// never as `.linkLost` (RoutineClose.swift, SessionManager+Renewal). Each link has its own
// outgoing queue: what is left of it when the link ends is discarded, never sent to the next.
//
// This file holds the type, its state and public lifecycle, and the two entry points (`handle`,
// `tick`). Each concern lives in its own extension: SessionManager+Connection (connect, open,
// configure, close), +Reconnect (lost links, backoff), +Keepalive (pings, dead links), +Renewal
// (the service's rules, reloads), +Queue (the outgoing API and queue), +Incoming (server events
// and errors), +Responses (one response at a time: holding response.create, placing cancels),
// +Warnings (rate-limited warnings for what a hostile service can repeat per frame).
// Those files share the manager's state, which is therefore internal rather than private.

import Logging
import RealtimeProtocol

public final class SessionManager {
    // MARK: Public state

    public private(set) var state: SessionState = .disconnected
    public internal(set) var counters = SessionCounters()
    /// The config sent on every (re)connect; replaced by `updateSession`.
    public internal(set) var session: SessionConfig
    /// Where to connect; replaced by `updateRequest`, used from the next connect on.
    public private(set) var request: ConnectRequest
    public let settings: SessionSettings

    // MARK: Collaborators (internal: used by the SessionManager+*.swift extensions)

    let transport: any RealtimeTransport
    let clock: any MonotonicClock
    let random: () -> Double
    let logger: Logger
    private let onEvent: (SessionEvent) -> Void

    // MARK: Internal state (shared with the SessionManager+*.swift extensions)

    var backoff: ReconnectBackoff
    var queue = SessionOutgoingQueue()
    var turn: SessionTurnTracker

    /// When the current `transport.connect` was issued.
    var connectStartedAt: Duration?
    /// When the current link opened (the service's session clock starts here).
    var openedAt: Duration?
    var lastFrameAt: Duration = .zero
    var nextPingAt: Duration?
    var closeDeadline: Duration?
    var afterClose: AfterClose = .stop
    /// Our `session.update` if the transport refused it at open; retried on `.writable`.
    var pendingConfigText: String?
    /// Event ids of our `session.update`s on this link (for matching an `error` to them).
    var configEventIDs: Set<String> = []
    var renewalPostponedLogged = false
    var droppingSinceDrain = 0
    var repeated: SessionRepeatedWarnings

    // The service's rules (SessionManager+Renewal).
    /// A quiet renewal is under way (from its start until ready, or until it turns into an outage).
    var renewal: RoutineClose?
    /// A renewal asked for by a reload, done at the next moment no turn is in progress.
    var renewalRequested: (cause: RoutineClose, at: Duration)?
    /// The service announced (with an `error`) that it is closing this session on its rules.
    var routineCloseAnnounced: RoutineClose?
    /// The service's idle timer restarts at each response; this is our (earlier) view of it.
    var lastResponseAt: Duration?
    /// The current session produced answer audio (its voice can no longer change).
    var audioProduced = false
    /// Between the loss of a working session and the next ready one (outages count once).
    var inOutage = false

    // One response at a time (SessionManager+Responses).
    /// Our `response.create` went out and its `response.created` has not arrived.
    var createSentAt: Duration?
    /// Cancels for a response whose `response.created` has not arrived yet.
    var deferredCancels = 0
    var cancelSentAt: Duration?
    var createRetries = 0
    var createHeldLogged = false
    /// The service refused our output format spelling once; the other one is used from then on.
    var outputFormatSwitched = false

    /// "event_" and 12 random hex digits, which every client event ID starts with.
    let idPrefix: String
    var idCounter: UInt64 = 0

    /// Events raised during the current call; `deliverEvents` hands them to `onEvent` at its end.
    var pendingEvents: [SessionEvent] = []
    private var delivering = false

    enum AfterClose: Equatable {
        case stop
        /// Connect again at once, quietly (a renewal).
        case renew(RoutineClose)
        case reconnect(LinkLossReason, Wait)
    }

    enum Wait: Equatable {
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
        self.repeated = SessionRepeatedWarnings(interval: settings.logRepeatInterval)
        var g = SystemRandomNumberGenerator()
        let tag = String(g.next() & 0xFFFF_FFFF_FFFF, radix: 16)
        self.idPrefix = "event_" + String(repeating: "0", count: max(0, 12 - tag.count)) + tag
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
            return [lastFrameAt + settings.deadAfter, nextPingAt, renewalDeadline(), heldCreateDeadline()]
                .compactMap { $0 }.min()
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
    /// Whether a quiet renewal is under way (the link is being replaced, not lost).
    public var isRenewing: Bool { renewal != nil }
    /// How long the current session has been open (nil without an open link).
    public var sessionAge: Duration? { openedAt.map { clock.now() - $0 } }
    /// Whether the current session has produced answer audio (its voice is then fixed).
    public var hasProducedAudio: Bool { audioProduced }

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
        renewal = nil
        renewalRequested = nil
        inOutage = false
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

    /// Replaces the session config. When ready it is sent at once (no reconnect) in queue order,
    /// except a voice change once the session has produced audio (the service refuses it with
    /// `cannot_update_voice`): then the session is renewed between turns and the new one starts
    /// with the whole config. It is always what the next connect sends first.
    public func updateSession(_ config: SessionConfig) {
        defer { deliverEvents() }
        let old = session
        let config = withLearnedFormat(config)
        session = config
        switch state {
        case .ready, .configuring:
            if config.voice != old.voice && audioProduced {
                logger.info("the voice can only change in a new session (this one has produced audio); renewing between turns")
                requestRenewal(.reload)
            } else {
                // While configuring, our first update is still unanswered: send the new one once ready.
                enqueue(.sessionUpdate(config), kind: .sessionUpdate)
            }
        default:
            logger.debug("session config replaced; used on the next connect")
        }
    }

    /// Replaces where to connect (URL, headers, TLS); used from the next connect on. To use it
    /// at once, call `renew(.reload)` after it.
    public func updateRequest(_ request: ConnectRequest) {
        self.request = request
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
            // An event may have ended the response a held `response.create` waits for.
            flush()
        case .pong:
            if state.hasLink { lastFrameAt = now }
        case .binary(let bytes):
            receivedBinary(byteCount: bytes, at: now)
        case .writable:
            if state == .configuring { sendPendingConfig() }
            flush()
        case .closed(let code, let reason):
            closed(code: code, reason: reason, at: now)
        case .failed(let failure):
            failed(failure, at: now)
        }
        checkRenewal(at: now)
        flushRepeatedWarnings(at: now)
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
        flushRepeatedWarnings(at: now)
    }

    // MARK: State and events

    /// The one place the state changes.
    func transition(to new: SessionState) {
        let old = state
        guard old != new else { return }
        if !SessionState.isValidTransition(from: old.phase, to: new.phase) {
            logger.error("invalid session state transition \(old.phase.rawValue) -> \(new.phase.rawValue)")
        }
        state = new
        logger.debug("session state: \(old.phase.rawValue) -> \(redact(new.description))")
        pendingEvents.append(.stateChanged(new))
    }

    /// Hands the pending events to `onEvent`; every public entry point ends with it. A call made
    /// from inside `onEvent` only adds events, and the loop re-reads the count, so they still go
    /// out in order and `onEvent` is never re-entered.
    func deliverEvents() {
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
    func redact(_ text: String) -> String {
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
