// Keepalive: a WebSocket ping every `pingInterval`, and a link that has delivered no frame at all
// for `deadAfter` is aborted and reconnected (a half-open TCP link would otherwise look healthy
// until the kernel gives up, minutes later).

import Logging

extension SessionManager {
    /// Pings and dead-link detection; false when the link was declared dead.
    @discardableResult
    func keepalive(at now: Duration) -> Bool {
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
}
