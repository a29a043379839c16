// The session manager's observable model: its states, why a link went away, what it reports to
// the appliance layer, its counters and its settings.

import RealtimeProtocol

/// Why the link to the service went (or is about to go) away.
public enum LinkLossReason: Sendable, Equatable, CustomStringConvertible {
    /// Connecting failed, or the link broke (DNS, TLS, TCP, HTTP status, WebSocket protocol).
    case transport(TransportFailure)
    /// The link closed without us asking (the service's 120-min cap, its idle timeout, …).
    case closedByPeer(code: Int, reason: String)
    /// Nothing at all arrived for this long; the link was aborted.
    case deadLink(silence: Duration)
    /// Opening and configuring the session took longer than `SessionSettings.connectTimeout`.
    case connectTimeout
    /// The service sent a non-recoverable `error` (or one rejecting the API key).
    case serverError(type: String?, code: String?, message: String)
    /// The service rejected our `session.update` while configuring.
    case invalidConfig(code: String?, message: String)

    public var description: String {
        switch self {
        case .transport(let f): "\(f)"
        case .closedByPeer(let code, let reason): "closed by the service (code \(code)\(reason.isEmpty ? "" : ", \(reason)"))"
        case .deadLink(let s): "no frames for \(s); link presumed dead"
        case .connectTimeout: "timed out opening the session"
        case .serverError(let type, let code, let message):
            "server error \(type ?? "-")/\(code ?? "-"): \(message)"
        case .invalidConfig(let code, let message): "session config rejected (\(code ?? "-")): \(message)"
        }
    }
}

/// The session manager's state. Every change goes through one transition function and is
/// checked against `isValidTransition`:
///
/// | from | to | on |
/// |---|---|---|
/// | disconnected | connecting | `start()` |
/// | connecting | configuring | `.opened` (our `session.update` goes out first) |
/// | connecting | waitingToReconnect / authFailed | `.failed`, `.closed`, connect timeout (HTTP 401/403 → authFailed) |
/// | connecting | disconnected | `stop()` (abort) |
/// | configuring | ready | `session.updated` |
/// | configuring | closing | `error` (config rejected → wait the cap; bad key → authFailed; fatal → backoff), `stop()` |
/// | configuring | waitingToReconnect / authFailed | `.failed`, `.closed`, connect timeout, dead link |
/// | configuring | connecting | `renew()` (a reload changed the URL or key mid-configure) |
/// | ready | closing | `stop()`, renewal, non-recoverable or auth `error` |
/// | ready | connecting | the service's routine close (idle, session cap): a quiet reconnect |
/// | ready | waitingToReconnect / authFailed | `.failed`, `.closed`, dead link |
/// | closing | disconnected / connecting / waitingToReconnect / authFailed | `.closed` (or close timeout): after `stop()` / renewal / an error |
/// | waitingToReconnect, authFailed | connecting | the timer (`until`), `reconnectNow()` |
/// | waitingToReconnect, authFailed | disconnected | `stop()` |
public enum SessionState: Sendable, Equatable, CustomStringConvertible {
    /// Not started, or stopped.
    case disconnected
    /// `transport.connect` was called; waiting for `.opened`.
    case connecting
    /// Open; our `session.update` is out, waiting for `session.updated`.
    case configuring
    /// Configured; client events flow.
    case ready
    /// We sent a close frame and wait for `.closed` (stop, renewal, or after a fatal error).
    case closing
    /// The link was lost; a new connect happens at `until` (clock time).
    case waitingToReconnect(until: Duration, reason: LinkLossReason)
    /// The service rejected the API key; a new attempt happens at `until` (always the cap).
    case authFailed(until: Duration, reason: LinkLossReason)

    /// The case without its payload, for tables and logs.
    public enum Phase: String, Sendable, Equatable, CaseIterable {
        case disconnected, connecting, configuring, ready, closing, waitingToReconnect, authFailed
    }

    public var phase: Phase {
        switch self {
        case .disconnected: .disconnected
        case .connecting: .connecting
        case .configuring: .configuring
        case .ready: .ready
        case .closing: .closing
        case .waitingToReconnect: .waitingToReconnect
        case .authFailed: .authFailed
        }
    }

    /// True while a socket exists (or is being opened).
    public var hasLink: Bool {
        switch phase {
        case .connecting, .configuring, .ready, .closing: true
        case .disconnected, .waitingToReconnect, .authFailed: false
        }
    }

    /// The transitions the session manager may make; every change of state goes through this table.
    public static func isValidTransition(from a: Phase, to b: Phase) -> Bool {
        switch (a, b) {
        case (.disconnected, .connecting): true
        case (.connecting, .configuring), (.connecting, .waitingToReconnect), (.connecting, .authFailed),
            (.connecting, .disconnected):
            true
        case (.configuring, .ready), (.configuring, .closing), (.configuring, .waitingToReconnect),
            (.configuring, .authFailed), (.configuring, .connecting):
            true
        case (.ready, .closing), (.ready, .connecting), (.ready, .waitingToReconnect), (.ready, .authFailed): true
        case (.closing, .disconnected), (.closing, .connecting), (.closing, .waitingToReconnect),
            (.closing, .authFailed):
            true
        case (.waitingToReconnect, .connecting), (.waitingToReconnect, .disconnected): true
        case (.authFailed, .connecting), (.authFailed, .disconnected): true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .waitingToReconnect(let until, let reason): "waitingToReconnect(until: \(until), \(reason))"
        case .authFailed(let until, let reason): "authFailed(until: \(until), \(reason))"
        default: phase.rawValue
        }
    }
}

/// What the session manager reports to the appliance layer, through `onEvent`.
public enum SessionEvent: Sendable, Equatable {
    /// Every state change, in order.
    case stateChanged(SessionState)
    /// The session is configured (after every (re)connect); queued messages are flowing.
    case ready
    /// A decoded server event of a known type (audio deltas, transcripts, errors, …).
    case server(ServerEvent)
    /// A server `error` event, classified. `recoverable` is true when the session carries on.
    case serverError(code: String?, message: String, type: String?, recoverable: Bool)
    /// The link went away without our asking (or we close it after a fatal error);
    /// a reconnect is scheduled. Not sent for `stop()` or a session renewal.
    case linkLost(LinkLossReason)
    /// Queued audio was dropped because the link is slower than real time or not ready;
    /// `total` is `counters.droppedAudioFrames`. Rate-limited like the warnings
    /// (`SessionSettings.logRepeatInterval`): sent for the first drop, then at most once per
    /// interval, so a receiver may log each one.
    case droppedAudio(total: Int)
    /// The session is being replaced on the service's own rules (or for a reload) and the new
    /// one follows at once: not an outage. The states pass through closing/connecting/configuring
    /// as usual and `.ready` ends it; should the new link fail, `.linkLost` follows instead.
    case renewing(RoutineClose)
    /// `response.created` arrived. `stale`: a newer `response.create` of ours is still waiting
    /// to go out, so this response answers an earlier request (one the user barged into).
    /// Sent just before the `.server` event that carries it.
    case responseStarted(responseID: String, stale: Bool)
}

/// Running totals since the manager was created.
public struct SessionCounters: Sendable, Equatable {
    /// `transport.connect` calls.
    public var connectAttempts = 0
    /// Connects made after a lost link (not the first one, not renewals).
    public var reconnects = 0
    /// Planned close-and-reconnect cycles: ahead of the service's idle close or session cap, or
    /// for a reload that needs a new session. Counted when the new connect starts.
    public var renewals = 0
    /// Links aborted because nothing arrived for `deadAfter`.
    public var deadLinks = 0
    /// Audio appends dropped, oldest first, because too many were waiting.
    public var droppedAudioFrames = 0
    /// Image appends dropped, oldest first, because too many were waiting.
    public var droppedImages = 0
    /// Text frames that were not a JSON object with a string `type` (or had a malformed field).
    public var malformedFrames = 0
    /// Well-formed events of a type we do not know (ignored).
    public var unknownEvents = 0
    /// `response.audio.delta` events whose payload is not Base64 of whole 16-bit samples (dropped).
    public var invalidAudioDeltas = 0
    /// Binary WebSocket messages (the protocol has none; ignored).
    public var binaryMessages = 0
    /// Server `error` events.
    public var serverErrors = 0
    /// Messages handed to the transport (including `session.update`).
    public var messagesSent = 0
    /// Text frames received.
    public var messagesReceived = 0
    /// WebSocket pings sent.
    public var pingsSent = 0
    /// Sessions the service closed on its own rules (idle close, session cap), reconnected quietly.
    public var routineCloses = 0
    /// Real outages: a working session lost (`.linkLost`), counted once until a session is
    /// ready again however many reconnect attempts fail meanwhile.
    public var outages = 0
    /// `response.create` held back while an earlier response was still active.
    public var responseCreatesHeld = 0
    /// `response.cancel` not sent because no response was active or pending.
    public var cancelsDropped = 0
    /// `session.update` rejected for its audio format and sent again with the other spelling.
    public var formatFallbacks = 0

    public init() {}
}

extension SessionSettings {
    /// Sets the service's idle close and session cap, and renewal margins that fit them: 30 s
    /// (or a fifth of a short idle close) before the idle close, 5 min (or three quarters of a
    /// short cap, so a long turn started just before the renewal still ends before the cap)
    /// before the cap.
    public mutating func adoptServiceRules(idleClose: Duration?, sessionCap: Duration?) {
        self.idleClose = idleClose
        if let i = idleClose { idleRenewalMargin = min(.seconds(30), i / 5) }
        maxSessionLength = sessionCap
        if let c = sessionCap { renewalMargin = min(.seconds(300), c * 3 / 4) }
    }
}

/// The session manager's figures. Defaults follow the protocol notes (§7) and the design brief.
public struct SessionSettings: Sendable, Equatable {
    /// How often to send a WebSocket ping while the link is up.
    public var pingInterval: Duration
    /// No frame at all (text or pong) for this long → abort and reconnect.
    public var deadAfter: Duration
    /// Longest time from `connect` to `session.updated`.
    public var connectTimeout: Duration
    /// Longest wait for `.closed` after we send a close frame; then the link is aborted.
    public var closeTimeout: Duration
    /// Audio appends allowed to wait (default 50 = 5 s of 100 ms chunks); beyond it the oldest go.
    public var maxQueuedAudio: Int
    /// Image appends allowed to wait; beyond it the oldest go (stale camera frames are worthless).
    public var maxQueuedImages: Int
    /// The service's session cap (120 min, §7); nil = none. Renewal happens `renewalMargin` earlier.
    public var maxSessionLength: Duration?
    public var renewalMargin: Duration
    /// The service closes a session after this long without a response (300 s; pings do not
    /// count); nil = never. Renewal happens `idleRenewalMargin` earlier, between turns.
    public var idleClose: Duration?
    public var idleRenewalMargin: Duration
    /// After our `response.cancel` the service may not announce the end of that response
    /// (§5.3): a `response.create` held behind it goes out at the latest this long after the cancel.
    public var cancelGrace: Duration
    /// A turn that shows no activity (appends, response events) for this long is over (§5.3).
    public var turnIdleTimeout: Duration
    public var reconnect: ReconnectPolicy
    /// Warnings that can repeat per frame (malformed frames, bad audio deltas, binary messages,
    /// dropped audio): the first is written at once, then at most one line per this interval,
    /// with the count of those not written (`LogRateLimiter`).
    public var logRepeatInterval: Duration

    public init(pingInterval: Duration = .seconds(10), deadAfter: Duration = .seconds(25),
                connectTimeout: Duration = .seconds(15), closeTimeout: Duration = .seconds(2),
                maxQueuedAudio: Int = 50, maxQueuedImages: Int = 2,
                maxSessionLength: Duration? = .seconds(120 * 60), renewalMargin: Duration = .seconds(5 * 60),
                idleClose: Duration? = .seconds(300), idleRenewalMargin: Duration = .seconds(30),
                cancelGrace: Duration = .seconds(1),
                turnIdleTimeout: Duration = .seconds(5), reconnect: ReconnectPolicy = ReconnectPolicy(),
                logRepeatInterval: Duration = .seconds(10)) {
        self.pingInterval = pingInterval
        self.deadAfter = deadAfter
        self.connectTimeout = connectTimeout
        self.closeTimeout = closeTimeout
        self.maxQueuedAudio = maxQueuedAudio
        self.maxQueuedImages = maxQueuedImages
        self.maxSessionLength = maxSessionLength
        self.renewalMargin = renewalMargin
        self.idleClose = idleClose
        self.idleRenewalMargin = idleRenewalMargin
        self.cancelGrace = cancelGrace
        self.turnIdleTimeout = turnIdleTimeout
        self.reconnect = reconnect
        self.logRepeatInterval = logRepeatInterval
    }
}
