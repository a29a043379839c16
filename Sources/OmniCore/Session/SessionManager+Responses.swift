// One response at a time. The service refuses `response.create` while a response is active
// ("Conversation already has an active response") and `response.cancel` while none is ("…has
// none active response"); a barge-in right after a release hits both races. So the decision is
// made when a message reaches the head of the queue, from what this link has seen:
//   response.create  waits while a response is active (until its end is seen, or `cancelGrace`
//                    after our cancel of it) or while our previous create is unanswered; what is
//                    queued behind it waits too, so order is kept. Refused anyway → sent again once.
//   response.cancel  goes out when a response is active; when only our create is out, it is sent
//                    the moment that response is created; otherwise nothing is cancelled.
//   cancelResponse() on a create still in the queue withdraws that create instead.
// `response.created` is reported as `.responseStarted(stale:)`: stale when a newer create of
// ours is still queued, so that response answers a request the user already barged into.

import Logging
import RealtimeProtocol

extension SessionManager {
    enum Gate {
        case send
        /// Leave it (and everything behind it) queued for now.
        case hold
        /// Remove it without sending.
        case skip
    }

    /// Whether the head message may go out now.
    func gate(_ m: SessionOutgoingQueue.Message, at now: Duration) -> Gate {
        switch m.kind {
        case .responseCreate:
            if createHold(at: now) != nil {
                if !createHeldLogged {
                    createHeldLogged = true
                    counters.responseCreatesHeld += 1
                    logger.debug("response.create waits for the previous response to end")
                }
                return .hold
            }
            return .send
        case .responseCancel:
            if turn.activeResponse(at: now) != nil { return .send }
            if createSentAt != nil {
                deferredCancels += 1
                logger.debug("response.cancel waits for the response our create asked for")
            } else {
                counters.cancelsDropped += 1
                logger.debug("response.cancel not sent: no response is active")
            }
            return .skip
        default:
            return .send
        }
    }

    /// Why a queued `response.create` may not go out yet (nil: it may).
    private func createHold(at now: Duration) -> String? {
        if let s = createSentAt, now - s < settings.turnIdleTimeout { return "previous create unanswered" }
        if turn.activeResponse(at: now) != nil {
            if let c = cancelSentAt, now - c >= settings.cancelGrace { return nil }
            return "a response is active"
        }
        return nil
    }

    /// When a held create must be looked at again (nil when none is held).
    func heldCreateDeadline() -> Duration? {
        guard queue.first?.kind == .responseCreate else { return nil }
        return [createSentAt.map { $0 + settings.turnIdleTimeout }, cancelSentAt.map { $0 + settings.cancelGrace },
                turn.activeResponseExpiry].compactMap { $0 }.filter { $0 > clock.now() }.min()
    }

    /// Bookkeeping for a message the transport took.
    func didSend(_ m: SessionOutgoingQueue.Message, at now: Duration) {
        switch m.kind {
        case .sessionUpdate: configEventIDs.insert(m.eventID)
        case .responseCreate:
            createSentAt = now
            createHeldLogged = false
        case .responseCancel: cancelSentAt = now
        default: break
        }
    }

    /// Server events that move the response bookkeeping (before they are reported).
    func noteIncoming(_ body: ServerEventBody, at now: Duration) {
        switch body {
        case .responseCreated(let info):
            createSentAt = nil
            createRetries = 0
            cancelSentAt = nil
            lastResponseAt = now
            pendingEvents.append(.responseStarted(responseID: info.id, stale: queue.contains(.responseCreate)))
            if deferredCancels > 0 {
                deferredCancels -= 1
                let id = nextEventID()
                queue.prepend(.init(kind: .responseCancel, eventID: id, type: "response.cancel",
                                    text: ClientEvent(eventID: id, .responseCancel).encoded()))
            }
        case .audioDelta:
            audioProduced = true
        default:
            break
        }
    }

    /// A create refused because a response was still active is sent again once (held until
    /// that response ends). True when handled.
    func absorbActiveResponseRefusal(_ d: ErrorDetail, at now: Duration) -> Bool {
        guard d.message.lowercased().contains("already has an active response"), createSentAt != nil,
              createRetries < 1 else { return false }
        createRetries += 1
        createSentAt = nil
        cancelSentAt = cancelSentAt ?? now
        logger.notice("the service still had a response active; sending response.create again when it ends")
        let id = nextEventID()
        queue.prepend(.init(kind: .responseCreate, eventID: id, type: "response.create",
                            text: ClientEvent(eventID: id, .responseCreate(nil)).encoded()))
        return true
    }

    /// `cancelResponse()`: withdraws a create that has not left yet, else queues the cancel.
    func queueCancel() {
        if queue.removeNewest(.responseCreate) != nil {
            logger.debug("response.create withdrawn before it was sent")
            return
        }
        enqueue(.responseCancel, kind: .responseCancel)
    }

    func resetResponseGate() {
        createSentAt = nil
        deferredCancels = 0
        cancelSentAt = nil
        createRetries = 0
        createHeldLogged = false
    }
}
