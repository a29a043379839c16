// Turning what the session manager reports into the machine's events.

import RealtimeProtocol

extension ApplianceServerSignal {
    /// The signal a server event carries for the appliance, or nil when it does not matter to it.
    /// `error` events map to nil: the session manager reports them classified, as
    /// `SessionEvent.serverError` (see `ApplianceEvent.init?(_ event: SessionEvent)`).
    public init?(_ event: ServerEvent) {
        switch event.body {
        case .speechStarted: self = .speechStarted
        case .speechStopped: self = .speechStopped
        case .inputAudioBufferCommitted: self = .committed
        case .responseCreated(let info): self = .responseCreated(responseID: info.id, stale: false)
        case .audioDelta(let ref, let delta):
            self = .audioDelta(responseID: ref.responseID, audioMs: Self.audioMs(base64Count: delta.utf8.count),
                               base64: delta)
        case .audioDone(let ref): self = .responseAudioEnded(responseID: ref.responseID)
        case .outputItemDone(let rid, _, _): self = .responseAudioEnded(responseID: rid)
        case .responseDone(let info): self = .responseDone(responseID: info.id, status: info.status)
        case .inputTranscriptionCompleted(_, _, let transcript): self = .userTranscript(transcript)
        case .audioTranscriptDone(let ref, let transcript):
            self = .assistantTranscript(responseID: ref.responseID, text: transcript)
        case .textDone(let ref, let text): self = .assistantTranscript(responseID: ref.responseID, text: text)
        case .error, .sessionCreated, .sessionUpdated, .sessionFinished, .inputAudioBufferCleared,
            .conversationItemCreated, .inputTranscriptionDelta, .inputTranscriptionFailed, .outputItemAdded,
            .contentPartAdded, .contentPartDone, .textDelta, .audioTranscriptDelta, .functionCallArgumentsDelta,
            .functionCallArgumentsDone, .unknown:
            return nil
        }
    }

    /// Milliseconds of 24 kHz mono s16le audio in a Base64 payload of `base64Count` characters.
    public static func audioMs(base64Count: Int) -> Int {
        let bytes = base64Count / 4 * 3
        return bytes / 2 * 1000 / 24_000
    }
}

extension ApplianceEvent {
    /// The machine's event for a session-manager event, or nil when there is none. A link loss
    /// may be reported twice (`linkLost`, then the state change); the machine takes that in stride.
    /// Without memory: during a quiet renewal the connecting states would read as a reconnect;
    /// the controller uses `ApplianceLinkFeed`, which knows.
    public init?(_ event: SessionEvent) {
        switch event {
        case .stateChanged(let s):
            switch s.phase {
            case .connecting, .configuring: self = .linkConnecting
            case .waitingToReconnect: self = .linkLost
            case .authFailed: self = .linkAuthFailed
            case .disconnected: self = .linkStopped
            // `.ready` follows as its own event once queued messages may flow.
            case .ready, .closing: return nil
            }
        case .ready: self = .linkReady
        case .server(let e):
            // `response.created` reaches the machine as `.responseStarted`, which says whether it is stale.
            if case .responseCreated = e.body { return nil }
            guard let s = ApplianceServerSignal(e) else { return nil }
            self = .server(s)
        case .responseStarted(let id, let stale): self = .server(.responseCreated(responseID: id, stale: stale))
        case .renewing: self = .linkRenewing
        case .serverError(let code, let message, let type, let recoverable):
            if recoverable {
                self = .server(.error(code: code, message: message))
            } else if Self.isRateLimit(type: type, code: code) {
                // Fatal too (`.linkLost` follows), but the turn it refused fails for what it is.
                self = .server(.rateLimited(message: message))
            } else {
                // Non-recoverable errors end the link; `.linkLost` follows.
                return nil
            }
        case .linkLost: self = .linkLost
        case .droppedAudio: return nil
        }
    }
}

extension ApplianceEvent {
    /// A rate limit or quota of the service: the `rate_limit_error` type, or DashScope's
    /// `Throttling` codes (`Throttling.RateQuota`, `Throttling.AllocationQuota`, …).
    static func isRateLimit(type: String?, code: String?) -> Bool {
        type == "rate_limit_error" || code == "rate_limit_exceeded" || code == "Throttling"
            || (code?.hasPrefix("Throttling.") ?? false)
    }
}

/// Turns the session manager's events into the machine's, remembering what one event alone does
/// not say: between `.renewing` and the end of that renewal (ready, or an outage) the session's
/// connecting and configuring states are its quiet replacement, not a reconnect to show.
public struct ApplianceLinkFeed: Sendable, Equatable {
    public private(set) var renewing = false

    public init() {}

    public mutating func event(for e: SessionEvent) -> ApplianceEvent? {
        switch e {
        case .renewing:
            defer { renewing = true }
            return renewing ? nil : .linkRenewing
        case .ready, .linkLost:
            renewing = false
        case .stateChanged(let s):
            switch s.phase {
            case .connecting, .configuring, .closing, .ready:
                if renewing { return nil }
            case .waitingToReconnect, .authFailed, .disconnected:
                renewing = false
            }
        default:
            break
        }
        return ApplianceEvent(e)
    }
}
