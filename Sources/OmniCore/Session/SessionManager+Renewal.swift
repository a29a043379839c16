// Session renewal: the service ends a session at its cap, so shortly before it (`renewalMargin`)
// the manager closes cleanly and reconnects at once, but never in the middle of a turn, so the
// user does not lose an answer.

import Logging

extension SessionManager {
    /// When the current session is due for renewal (or, once due, when the blocking turn ends at
    /// the latest); nil without a session cap.
    func renewalDeadline() -> Duration? {
        guard let due = renewalDue() else { return nil }
        let now = clock.now()
        if now < due { return due }
        return turn.nextExpiry(after: now) ?? now
    }

    private func renewalDue() -> Duration? {
        guard let cap = settings.maxSessionLength, let opened = openedAt else { return nil }
        return opened + max(.zero, cap - settings.renewalMargin)
    }

    func checkRenewal(at now: Duration) {
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
}
