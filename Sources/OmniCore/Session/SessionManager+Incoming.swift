// The incoming side: decoding server frames, tracking the turn from them, and classifying server
// `error` events (bad key, rejected config, fatal, or recoverable).

import Logging
import RealtimeProtocol

extension SessionManager {
    /// One text frame from the service (any frame counts as a sign of life).
    func received(_ text: String, at now: Duration) {
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
            warnMalformedFrame(error, at: now)
            return
        }
        if case .unknown(let type) = event.body {
            counters.unknownEvents += 1
            logger.debug("ignoring unknown event type \(redact(type))")
            return
        }
        if case .audioDelta(let ref, let delta) = event.body, !acceptAudioDelta(ref, delta, at: now) { return }
        noteIncoming(event.body, at: now)
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
        if absorbKnownError(d, at: now) { return }
        let message = redact(d.message)
        let desc = "\(d.type ?? "-")/\(d.code ?? "-"): \(message)"
        let reason = LinkLossReason.serverError(type: d.type, code: d.code, message: d.message)
        if Self.isAuthError(d) {
            report(d, recoverable: false)
            logger.error("the service rejected the API key (\(desc)); retrying in \(settings.reconnect.fixedFailureDelay) — check the key")
            reportLinkLost(reason)
            beginClose(then: .reconnect(reason, .auth), reason: "authentication failed")
        } else if state == .configuring && (d.isRecoverable || d.eventID.map(configEventIDs.contains) == true) {
            report(d, recoverable: false)
            logger.error("the service rejected the session config (\(desc)); retrying in \(settings.reconnect.fixedFailureDelay) — fix the config")
            let r = LinkLossReason.invalidConfig(code: d.code, message: d.message)
            reportLinkLost(r)
            beginClose(then: .reconnect(r, .cap), reason: "invalid session config")
        } else if !d.isRecoverable {
            report(d, recoverable: false)
            logger.warning("fatal server error (\(desc)); closing and reconnecting")
            reportLinkLost(reason)
            beginClose(then: .reconnect(reason, .backoff), reason: "server error")
        } else {
            report(d, recoverable: true)
            if d.eventID.map(configEventIDs.contains) == true {
                logger.warning("session.update rejected (\(desc)); the service keeps its previous config")
            } else {
                noteRecoverableError(desc, at: now)
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
}
