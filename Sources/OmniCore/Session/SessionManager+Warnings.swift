// Lines a hostile or broken service can trigger once per frame (issue 16: 16,000 lines in 0.4 s
// for 20,000 bad events): malformed frames, bad audio deltas, binary messages, dropped audio,
// recoverable server errors. Each kind has a LogRateLimiter: the first occurrence is written
// at once, later ones at most once per `settings.logRepeatInterval`, every line carrying the
// running total from `counters`. Summaries of what went unwritten are flushed from the entry
// points the manager already has (every transport event and tick), never from a timer of their own.

import Logging
import RealtimeProtocol

/// The limiters of the warnings that can repeat per frame.
struct SessionRepeatedWarnings {
    var malformedFrame: LogRateLimiter
    var invalidAudioDelta: LogRateLimiter
    var binaryMessage: LogRateLimiter
    var droppedAudio: LogRateLimiter
    var recoverableError: LogRateLimiter

    init(interval: Duration) {
        malformedFrame = LogRateLimiter(interval: interval)
        invalidAudioDelta = LogRateLimiter(interval: interval)
        binaryMessage = LogRateLimiter(interval: interval)
        droppedAudio = LogRateLimiter(interval: interval)
        recoverableError = LogRateLimiter(interval: interval)
    }
}

extension SessionManager {
    /// A frame that is not a well-formed server event (`counters.malformedFrames` already counts it).
    func warnMalformedFrame(_ error: some Error, at now: Duration) {
        guard case .log(let skipped) = repeated.malformedFrame.record(at: now) else { return }
        logger.warning("skipping malformed frame (\(counters.malformedFrames) so far\(Self.notLogged(skipped))): \(error)")
    }

    /// Whether an audio delta's payload is playable; counts and warns when it is not. Invalid ones
    /// are dropped here (before the turn tracker, the appliance and the speaker see them): their
    /// length would otherwise be taken for audio that will never play.
    func acceptAudioDelta(_ ref: ContentRef, _ delta: String, at now: Duration) -> Bool {
        if PCM16.isValidBase64(delta) { return true }
        counters.invalidAudioDeltas += 1
        if case .log(let skipped) = repeated.invalidAudioDelta.record(at: now) {
            let what = "response \(redact(ref.responseID)), \(delta.utf8.count) characters"
            logger.warning("dropping an audio delta with invalid Base64 (\(counters.invalidAudioDeltas) so far\(Self.notLogged(skipped))): \(what)")
        }
        return false
    }

    /// A binary message: no event of the protocol is binary, so it is only a sign of life.
    func receivedBinary(byteCount: Int, at now: Duration) {
        guard state.hasLink else { return }
        lastFrameAt = now
        counters.binaryMessages += 1
        guard case .log(let skipped) = repeated.binaryMessage.record(at: now) else { return }
        logger.warning("ignoring a \(byteCount)-byte binary message (\(counters.binaryMessages) so far\(Self.notLogged(skipped)))")
    }

    /// Queued audio was dropped (`counters.droppedAudioFrames` already counts it). The
    /// `.droppedAudio` event follows the same verdict as the line, because its receiver logs it.
    func warnDroppedAudio(at now: Duration) {
        guard case .log(let skipped) = repeated.droppedAudio.record(at: now) else { return }
        let count = "\(counters.droppedAudioFrames) message(s) so far\(Self.notLogged(skipped))"
        logger.warning("link slower than real time or not ready: dropping the oldest queued audio (\(count))")
        pendingEvents.append(.droppedAudio(total: counters.droppedAudioFrames))
    }

    /// A recoverable server `error` (the session goes on; `counters.serverErrors` counts it).
    /// The `.serverError` event is still raised for every one: the appliance acts on each.
    func noteRecoverableError(_ description: String, at now: Duration) {
        guard case .log(let skipped) = repeated.recoverableError.record(at: now) else { return }
        let more = skipped > 0 ? "; \(skipped) more not logged since the last line" : ""
        logger.notice("service error, session continues (\(description))\(more)")
    }

    /// One summary line per kind whose interval has passed with occurrences left unwritten.
    func flushRepeatedWarnings(at now: Duration) {
        if let n = repeated.malformedFrame.flush(at: now) {
            logger.warning("skipped \(n) more malformed frame(s) (\(counters.malformedFrames) so far)")
        }
        if let n = repeated.invalidAudioDelta.flush(at: now) {
            logger.warning("dropped \(n) more audio delta(s) with invalid Base64 (\(counters.invalidAudioDeltas) so far)")
        }
        if let n = repeated.binaryMessage.flush(at: now) {
            logger.warning("ignored \(n) more binary message(s) (\(counters.binaryMessages) so far)")
        }
        if let n = repeated.recoverableError.flush(at: now) {
            logger.notice("\(n) more recoverable service error(s) (\(counters.serverErrors) server errors so far)")
        }
        if let n = repeated.droppedAudio.flush(at: now) {
            let count = "\(counters.droppedAudioFrames) message(s) so far"
            logger.warning("dropped the oldest queued audio \(n) more time(s) (\(count))")
            pendingEvents.append(.droppedAudio(total: counters.droppedAudioFrames))
        }
    }

    private static func notLogged(_ skipped: Int) -> String {
        skipped > 0 ? ", \(skipped) not logged since the last line" : ""
    }
}
