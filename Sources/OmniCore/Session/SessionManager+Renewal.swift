// The service's own rules, and why they never look like an outage.
//
// The service closes a session after `idleClose` (300 s) without a response and at
// `maxSessionLength` (120 min). Design: renew quietly before either deadline (clean close, at
// once a new connect; `idleRenewalMargin` / `renewalMargin` earlier), never in the middle of a
// turn, and take a routine close the service makes anyway (its announcement, or a clean close
// right at a deadline) the same quiet way. Both are reported as `.renewing`, not `.linkLost`, so
// the appliance keeps its LEDs and keeps taking presses: a press that lands in the gap starts
// its turn at once and its audio waits for the new session (the appliance holds it, see
// ApplianceMachine+Connection). The alternative, closing when idle and connecting on demand,
// would save the idle reconnects but needs the session live anyway in hands-free (`vad`) mode,
// so there would be two lifecycles instead of one; and it would put a full connect (DNS, TLS,
// `session.update`) in front of every first press instead of in front of almost none.
// Cost: one reconnect per `idleClose - idleRenewalMargin` of idleness (about 320 a day).
// A renewal whose new link fails is an ordinary outage from that moment on.

import Logging
import RealtimeProtocol

extension SessionManager {
    /// Renews the session (the current one ends cleanly, a new one starts at once, quietly)
    /// at the next moment no turn is in progress. For a reload that changed what only a new
    /// session can take: the voice once audio was produced, the URL, the API key. In a wait
    /// state it connects now; while connecting it starts that connect again.
    public func renew(_ cause: RoutineClose = .reload) {
        defer { deliverEvents() }
        let now = clock.now()
        switch state {
        case .ready:
            requestRenewal(cause)
        case .connecting, .configuring:
            logger.info("\(cause): connecting again with the new settings")
            transport.abort()
            discardStaleQueue()
            connect(reconnecting: false)
        case .waitingToReconnect, .authFailed:
            logger.info("\(cause): connecting now instead of waiting")
            connect(reconnecting: true)
        case .closing:
            if case .reconnect = afterClose { afterClose = .renew(cause) }
        case .disconnected:
            break
        }
        checkRenewal(at: now)
    }

    func requestRenewal(_ cause: RoutineClose) {
        if renewalRequested == nil { renewalRequested = (cause, clock.now()) }
        checkRenewal(at: clock.now())
    }

    /// When the current session is due for renewal (or, once due, when the blocking turn ends at
    /// the latest); nil when nothing is planned.
    func renewalDeadline() -> Duration? {
        guard let due = renewalDue() else { return nil }
        let now = clock.now()
        if now < due.at { return due.at }
        return turn.nextExpiry(after: now) ?? now
    }

    /// The earliest planned renewal and its cause.
    func renewalDue() -> (at: Duration, cause: RoutineClose)? {
        guard let opened = openedAt else { return nil }
        var best: (at: Duration, cause: RoutineClose)?
        func consider(_ at: Duration, _ cause: RoutineClose) {
            if best == nil || at < best!.at { best = (at, cause) }
        }
        if let r = renewalRequested { consider(r.at, r.cause) }
        if let cap = settings.maxSessionLength {
            consider(opened + max(.zero, cap - settings.renewalMargin), .sessionCap)
        }
        if let idle = settings.idleClose {
            consider((lastResponseAt ?? opened) + max(.zero, idle - settings.idleRenewalMargin), .idle)
        }
        return best
    }

    func checkRenewal(at now: Duration) {
        guard state == .ready, let due = renewalDue(), now >= due.at else { return }
        // A create still unanswered means a response is coming (for at most turnIdleTimeout).
        let createPending = createSentAt.map { now - $0 < settings.turnIdleTimeout } ?? false
        if turn.isInProgress(at: now) || createPending {
            if !renewalPostponedLogged {
                logger.info("session renewal (\(due.cause)) due; postponed until the current turn ends")
                renewalPostponedLogged = true
            }
            return
        }
        switch due.cause {
        case .idle: logger.info("renewing the session before the service's idle close (\(settings.idleClose ?? .zero) without a response)")
        case .sessionCap: logger.info("renewing the session before the service's \(settings.maxSessionLength ?? .zero) cap")
        case .reload: logger.info("renewing the session for the reloaded settings")
        }
        renewalRequested = nil
        beginQuietRenewal(due.cause)
        beginClose(then: .renew(due.cause), reason: "session renewal")
    }

    /// From here until `.ready` the link is being replaced, not lost.
    func beginQuietRenewal(_ cause: RoutineClose) {
        if renewal == nil { pendingEvents.append(.renewing(cause)) }
        renewal = cause
    }

    /// An `error` that is the service's announcement of a routine close: remembered for the
    /// close that follows, logged as what it is, not reported as an error. True when handled.
    func absorbRoutineCloseNotice(_ d: ErrorDetail) -> Bool {
        guard let cause = RoutineClose.announced(by: d) else { return false }
        routineCloseAnnounced = cause
        logger.info("the service is closing the session on its \(cause) rule: \(redact(d.message))")
        return true
    }

    /// The routine close a peer close at this moment is, if any: announced by the service, or a
    /// clean close right at one of its deadlines (the service's texts are not documented).
    func routineClose(code: Int, at now: Duration) -> RoutineClose? {
        if let r = routineCloseAnnounced { return r }
        guard code == 1000, state == .ready, let opened = openedAt else { return nil }
        if let cap = settings.maxSessionLength, now - opened >= cap - cap / 20 { return .sessionCap }
        if let idle = settings.idleClose, now - (lastResponseAt ?? opened) >= idle - idle / 20,
            !turn.isInProgress(at: now)
        {
            return .idle
        }
        return nil
    }

    /// The service closed the session on its rules: connect again at once, quietly.
    func routineClosed(_ cause: RoutineClose, code: Int) {
        counters.routineCloses += 1
        logger.info("the service closed the session (\(cause), code \(code)); connecting a new one")
        beginQuietRenewal(cause)
        discardStaleQueue()
        connect(reconnecting: false)
    }
}
