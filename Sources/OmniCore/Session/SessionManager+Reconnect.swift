// Losing the link and coming back: the transport's `.closed`/`.failed` are classified (bad key,
// dropped live link, failed attempt), reported as `linkLost`, and the next connect is scheduled
// after a jittered backoff, or exactly the cap for failures a quick retry cannot fix.

import Logging

extension SessionManager {
    /// The transport's `.closed`: the end of our own close, or a link the service dropped.
    func closed(code: Int, reason: String, at now: Duration) {
        switch state {
        case .closing:
            logger.debug("link closed (\(code))")
            finishClose(at: now)
        case .connecting, .configuring, .ready:
            if state != .connecting, let routine = routineClose(code: code, at: now) {
                routineClosed(routine, code: code)
                return
            }
            let r = LinkLossReason.closedByPeer(code: code, reason: reason)
            logger.warning("link closed by the service: code \(code)\(reason.isEmpty ? "" : " (\(redact(reason)))")")
            loseLink(r, wait: .backoff, at: now)
        case .disconnected, .waitingToReconnect, .authFailed:
            logger.debug("ignoring stale .closed in state \(state.phase.rawValue)")
        }
    }

    /// The transport's `.failed`: the end of our own close, a failed attempt, or a broken link.
    func failed(_ failure: TransportFailure, at now: Duration) {
        switch state {
        case .closing:
            logger.debug("link failed while closing: \(redact(failure.description))")
            finishClose(at: now)
        case .connecting, .configuring, .ready:
            if state != .connecting, let routine = routineCloseAnnounced {
                // The service announced its close and then dropped the socket without a close frame.
                routineClosed(routine, code: 1006)
                return
            }
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
    func loseLink(_ reason: LinkLossReason, wait: Wait, at now: Duration) {
        reportLinkLost(reason)
        discardStaleQueue()
        scheduleReconnect(reason, wait: wait, at: now)
    }

    /// An outage: the appliance hears of it (a quiet renewal that failed becomes one here).
    /// Counted once from the loss of a working session to the next ready one, however many
    /// attempts fail in between.
    func reportLinkLost(_ reason: LinkLossReason) {
        if !inOutage { counters.outages += 1 }
        inOutage = true
        renewal = nil
        pendingEvents.append(.linkLost(reason))
    }

    func scheduleReconnect(_ reason: LinkLossReason, wait: Wait, at now: Duration) {
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
