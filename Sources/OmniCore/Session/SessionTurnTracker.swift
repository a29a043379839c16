// Whether a conversational turn is in progress, for deciding when a session renewal may happen.
// Three overlapping timers, each ended by an explicit event or by `idleTimeout` without activity
// (protocol §5.3: the end of an interrupted/cancelled response is not reliably announced):
//   capture   — the user is speaking: manual mode from the first append after idle, VAD mode
//               from `speech_started`; refreshed by appends; ended by commit/clear/speech_stopped.
//   awaiting  — a response is expected: after commit, response.create, speech_stopped, committed;
//               ended by response.created.
//   response  — a response is streaming: from response.created; refreshed by its events; ended by
//               its response.done or output_item.done, or replaced by a new response.created.

import RealtimeProtocol

struct SessionTurnTracker {
    var idleTimeout: Duration
    private(set) var captureUntil: Duration?
    private(set) var awaitingUntil: Duration?
    private(set) var responseID: String?
    private(set) var responseUntil: Duration?

    init(idleTimeout: Duration) {
        self.idleTimeout = idleTimeout
    }

    func isInProgress(at now: Duration) -> Bool {
        [captureUntil, awaitingUntil, responseUntil].contains { $0.map { now < $0 } ?? false }
    }

    /// The response the service is producing now, as far as we can tell (its end is not always
    /// announced, so it also ends after `idleTimeout` without any of its events).
    func activeResponse(at now: Duration) -> String? {
        guard let id = responseID, let u = responseUntil, now < u else { return nil }
        return id
    }

    /// When the active response counts as ended without an announcement.
    var activeResponseExpiry: Duration? { responseID == nil ? nil : responseUntil }

    /// The earliest time a running timer expires (nil when no turn is in progress).
    func nextExpiry(after now: Duration) -> Duration? {
        [captureUntil, awaitingUntil, responseUntil].compactMap { $0 }.filter { $0 > now }.min()
    }

    mutating func reset() {
        captureUntil = nil
        awaitingUntil = nil
        responseID = nil
        responseUntil = nil
    }

    /// A client event was queued.
    mutating func client(_ body: ClientEventBody, manualMode: Bool, at now: Duration) {
        switch body {
        case .inputAudioBufferAppend, .inputImageBufferAppend:
            if let c = captureUntil, now < c {
                captureUntil = now + idleTimeout
            } else if manualMode {
                captureUntil = now + idleTimeout
            }
        case .inputAudioBufferCommit:
            captureUntil = nil
            awaitingUntil = now + idleTimeout
        case .inputAudioBufferClear:
            captureUntil = nil
        case .responseCreate:
            awaitingUntil = now + idleTimeout
        case .sessionUpdate, .responseCancel, .sessionFinish, .conversationItemCreate, .unknown:
            break
        }
    }

    /// A server event arrived.
    mutating func server(_ body: ServerEventBody, at now: Duration) {
        switch body {
        case .speechStarted:
            captureUntil = now + idleTimeout
        case .speechStopped:
            captureUntil = nil
            awaitingUntil = now + idleTimeout
        case .inputAudioBufferCommitted:
            awaitingUntil = now + idleTimeout
        case .responseCreated(let info):
            awaitingUntil = nil
            responseID = info.id
            responseUntil = now + idleTimeout
        case .responseDone(let info):
            endResponse(info.id)
        case .outputItemDone(let rid, _, _):
            endResponse(rid)
        case .outputItemAdded(let rid, _, _):
            touchResponse(rid, at: now)
        case .contentPartAdded(let ref, _), .contentPartDone(let ref, _), .textDelta(let ref, _),
            .textDone(let ref, _), .audioTranscriptDelta(let ref, _), .audioTranscriptDone(let ref, _),
            .audioDelta(let ref, _), .audioDone(let ref):
            touchResponse(ref.responseID, at: now)
        case .error, .sessionCreated, .sessionUpdated, .sessionFinished, .inputAudioBufferCleared,
            .conversationItemCreated, .inputTranscriptionCompleted, .inputTranscriptionDelta,
            .inputTranscriptionFailed, .functionCallArgumentsDelta, .functionCallArgumentsDone, .unknown:
            break
        }
    }

    private mutating func endResponse(_ id: String) {
        guard responseID != nil, id.isEmpty || id == responseID else { return }
        responseID = nil
        responseUntil = nil
    }

    private mutating func touchResponse(_ id: String, at now: Duration) {
        guard let current = responseID, id.isEmpty || id == current, let u = responseUntil, now < u else { return }
        responseUntil = now + idleTimeout
    }
}
