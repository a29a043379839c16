import OmniCore
import Synchronization

/// Shared between the audio thread and the rest of the engine: atomics only, allocated once per
/// engine. Requests flow in (controller → audio thread), results and counters flow out. This is
/// the only way anything crosses to or from the audio thread (AudioRTLoop.swift, rule 2).
struct AudioShared: ~Copyable {
    // Requests.
    let stop = Atomic<Bool>(false)
    let flushSerial = Atomic<Int>(0)
    let flushMark = Atomic<Int>(0)
    let flushCancelsDrainsUpTo = Atomic<Int>(0)
    /// `loopIterations` when the latest flush was requested (to measure how fast it applied).
    let flushRequestedAtIteration = Atomic<Int>(0)
    /// Where the speaker was when the latest flush was requested (AudioEngine.flushRequestPoint;
    /// where a test finds it in the `file:` speaker's output).
    let flushRequestedAtFrame = Atomic<Int>(0)
    let drainSerial = Atomic<Int>(0)
    let drainMark = Atomic<Int>(0)
    /// (serial << 8) | EarconKind.rawValue
    let earconRequest = Atomic<Int>(0)
    let gainQ16 = Atomic<Int>(Int(Gain.unityQ16))
    /// Wake-up requests (AudioRTLoop+Wake.swift): the audio thread writes the engine's eventfd
    /// once the capture ring's write position reaches `captureWakePosition`, once the playback
    /// ring's read position reaches `playbackRoomPosition` (Int.max: not wanted; each fires once
    /// and is re-armed by its owner), and when the first answer frame is played while
    /// `answerStartArmed` is ahead of `answerStartedGeneration`.
    let captureWakePosition = Atomic<Int>(Int.max)
    let playbackRoomPosition = Atomic<Int>(Int.max)
    let answerStartArmed = Atomic<Int>(0)
    /// The capture consumer wants timely audio (CaptureInterest.wake): with no wake-up armed,
    /// a clock-paced loop coasts no further than `captureCoastLimit` (AudioRTClock.swift).
    let captureLive = Atomic<Bool>(false)
    /// Capture ring write position near which the live consumer's next request is expected.
    let captureCoastLimit = Atomic<Int>(Int.max)
    /// While a clock-paced loop coasts: the capture ring write position it will have reached
    /// before the coast's last period. A wake-up armed at or below it would fire late, so
    /// whoever arms one there kicks the loop (Int.min: not coasting).
    let coastHorizon = Atomic<Int>(Int.min)
    /// While a clock-paced loop coasts: monotonic ns from which capture periods are due that it
    /// has not read yet (Int.max: not coasting, the ring is current); the capture ring's write
    /// position and the interval (ns) and frames of its periods then. (The period read at
    /// coastDueFrom + m × interval ends at coastBase + (m + 1) × frames.)
    let coastDueFrom = Atomic<Int>(Int.max)
    let coastBase = Atomic<Int>(0)
    let coastInterval = Atomic<Int>(0)
    let coastPeriodFrames = Atomic<Int>(0)
    /// catchUpCapture() requests, and the latest one the loop has done (it had read every
    /// period due when it got to it).
    let catchUpRequested = Atomic<Int>(0)
    let catchUpDone = Atomic<Int>(0)
    /// Monotonic ns of the latest discardCaptured(): a clock-paced loop that catches up after
    /// coasting drops the periods it "captured" before then (AudioRTClock.swift).
    let captureDiscardedAt = Atomic<Int>(0)
    /// Monotonic ns of the newest period in the capture ring (nominal, when clock-paced): a
    /// look-back discard keeps only what is younger than its window (AudioEngine+Reference.swift).
    let captureNewestNanos = Atomic<Int>(0)
    /// Test hooks: a negative errno the next capture read / playback avail returns instead.
    let injectCaptureError = Atomic<Int>(0)
    let injectPlaybackError = Atomic<Int>(0)

    // Results.
    let streamState = Atomic<Int>(AudioStreamState.idle.rawValue)
    let lostError = Atomic<Int>(0)
    let lostDirection = Atomic<Int>(0)
    let drainedSerial = Atomic<Int>(0)
    let audioThreadID = Atomic<Int>(0)
    /// The latest `answerStartArmed` generation whose first frame was played.
    let answerStartedGeneration = Atomic<Int>(0)
    /// Capture wake-ups fired (the monitor turns each into .captureReady or a trim).
    let captureWakeups = Atomic<Int>(0)

    // Counters (cumulative over the engine's life).
    let capturedFrames = Atomic<Int>(0)
    let captureOverflowFrames = Atomic<Int>(0)
    /// Reference samples the reference ring had no room for (each breaks the echo path's count).
    let referenceOverflowFrames = Atomic<Int>(0)
    /// Stream plans started (a reopen restarts both streams: the echo path starts over).
    let streamStarts = Atomic<Int>(0)
    let playbackFramesWritten = Atomic<Int>(0)
    /// Of those, written ahead of the one-period buffer (a `file:` speaker, AudioRTLoop+Ahead).
    let playbackAheadFrames = Atomic<Int>(0)
    /// With write-ahead: where the per-period loop would have written the device up to
    /// (`aheadAnchorFrames`) at the deadline of the iteration that published it
    /// (`aheadAnchorNanos`, 0: no write-ahead; `loopIterations` was `aheadAnchorIteration`
    /// then), and the loop's period (ns, frames), so that
    /// a flush asked for while the loop sleeps on audio written ahead finds where the per-period
    /// loop would be by now (AudioEngine.flush). Published every iteration under the sequence
    /// `aheadAnchorSerial` (odd while being written; the reader tries again).
    let aheadAnchorSerial = Atomic<Int>(0)
    let aheadAnchorNanos = Atomic<Int>(0)
    let aheadAnchorIteration = Atomic<Int>(0)
    let aheadAnchorFrames = Atomic<Int>(0)
    let aheadIntervalNanos = Atomic<Int>(0)
    let aheadPeriodFrames = Atomic<Int>(0)
    /// The loop sleeps while answer audio written ahead plays: more answer audio needs no kick
    /// (it wakes to write on before the device runs out).
    let aheadCoasting = Atomic<Bool>(false)
    let answerFramesPlayed = Atomic<Int>(0)
    let captureXruns = Atomic<Int>(0)
    let playbackXruns = Atomic<Int>(0)
    let underruns = Atomic<Int>(0)
    let flushesApplied = Atomic<Int>(0)
    /// Audio-thread periods between the latest flush request and its application (0 or 1).
    let lastFlushLatencyPeriods = Atomic<Int>(0)
    let earconsPlayed = Atomic<Int>(0)
    let loopIterations = Atomic<Int>(0)
    let audioThreadCPUNanos = Atomic<Int>(0)
    // Maintained by the monitor thread.
    let deviceLosses = Atomic<Int>(0)
    let reopenings = Atomic<Int>(0)
    let reopenAttempts = Atomic<Int>(0)

    init() {}
}

/// Where the audio thread is with the current stream plan (`AudioShared.streamState`).
/// Not "SessionState": that is OmniCore's link state, and this module imports OmniCore.
enum AudioStreamState: Int {
    case idle = 0
    case running = 1
    case stopped = 2
    case lost = 3
}
