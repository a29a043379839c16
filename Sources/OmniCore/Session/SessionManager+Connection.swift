// One connection's life: connect, open (our `session.update` goes first), ready, and a bounded
// graceful close. What happens after a close is decided up front (`AfterClose`) by whoever
// started it, so `.closed` and the close timeout end the same way.

import Logging
import RealtimeProtocol

extension SessionManager {
    func connect(reconnecting: Bool) {
        let now = clock.now()
        clearLink()
        counters.connectAttempts += 1
        if reconnecting { counters.reconnects += 1 }
        connectStartedAt = now
        transition(to: .connecting)
        logger.info("connecting to \(redact(request.description))")
        transport.connect(request)
    }

    func opened(at now: Duration) {
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

    func sendPendingConfig() {
        guard let text = pendingConfigText else { return }
        if transport.send(text: text) {
            counters.messagesSent += 1
            pendingConfigText = nil
        } else {
            logger.debug("transport busy; session.update waits for .writable")
        }
    }

    func becomeReady(at now: Duration) {
        if let r = renewal { logger.debug("quiet renewal (\(r)) complete") }
        renewal = nil
        inOutage = false
        transition(to: .ready)
        backoff.connectionReady(at: now)
        pendingEvents.append(.ready)
        logger.info("session ready (\(queue.count) queued message(s))")
        flush()
    }

    /// Sends a close frame and waits (bounded) for `.closed`, then does `then`. What is still
    /// queued belonged to this link and is dropped.
    func beginClose(then: AfterClose, reason: String) {
        discardStaleQueue()
        afterClose = then
        closeDeadline = clock.now() + settings.closeTimeout
        transition(to: .closing)
        transport.close(code: 1000, reason: reason)
    }

    func finishClose(at now: Duration) {
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
    func clearLink() {
        connectStartedAt = nil
        openedAt = nil
        nextPingAt = nil
        closeDeadline = nil
        pendingConfigText = nil
        configEventIDs.removeAll()
        renewalPostponedLogged = false
        turn.reset()
        routineCloseAnnounced = nil
        lastResponseAt = nil
        audioProduced = false
        resetResponseGate()
    }
}
