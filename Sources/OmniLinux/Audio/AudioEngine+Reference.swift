import OmniCore
import Synchronization

// The echo reference's consumer side: what the speaker was given (the audio thread's tap,
// AudioRTLoop+Reference.swift), converted to the service's 16 kHz like the microphone, for the
// controller's echo canceller or half-duplex gate (Daemon+Echo.swift). Its consumer state lives
// in `CaptureSide`, under the capture mutex, so every discard and trim treats the microphone
// and its reference together and the two streams keep counting the same time.

/// The reference ring's consumer: ring, resampler (playback rate → 16 kHz) and carry.
struct ReferenceReader {
    /// The stream plan's ring (AudioStreamPlan.referenceRing), kept alive here: what the audio
    /// thread tapped stays readable after its plan ends (a lost device), until the next plan.
    let owner: SPSCRing
    var ring: SPSCRingView { owner.view }
    var resampler: any Resampler
    var scratch = [Int16](repeating: 0, count: 4096)
    var carry = 0

    init(owner: SPSCRing, resampler: any Resampler) {
        self.owner = owner
        self.resampler = resampler
    }

    mutating func read(into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        readResampled(from: ring, resampler: resampler, scratch: &scratch, carry: &carry, into: out)
    }

    /// Drops all but the newest `frames` device-rate samples.
    mutating func keepNewest(frames: Int) {
        let available = ring.availableToRead()
        if available > frames { ring.skip(to: ring.readPosition + available - max(0, frames)) }
        carry = 0
        resampler.reset()
    }
}

extension AudioEngine {
    /// The engine taps the speaker's audio for echo cancellation (`Options.echoReference`).
    public var hasEchoReference: Bool { options.echoReference }

    /// Moves reference audio (what the speaker was given), converted to 16 kHz mono, into
    /// `buffer`; returns samples written (0 without a tap).
    public func readReference(into buffer: UnsafeMutableBufferPointer<Int16>) -> Int {
        captureSide.withLock { side in side.reference?.read(into: buffer) ?? 0 }
    }

    /// Counts every event after which the microphone and reference streams no longer count the
    /// same time (an xrun either way, a full reference ring, devices (re)opened). A consumer
    /// that sees it change drains both streams and starts its echo path over.
    public var echoDiscontinuities: Int {
        shared.pointee.captureXruns.load(ordering: .relaxed) &+ shared.pointee.playbackXruns.load(ordering: .relaxed)
            &+ shared.pointee.referenceOverflowFrames.load(ordering: .relaxed) &+ shared.pointee.streamStarts.load(ordering: .acquiring)
    }

    /// Drops captured audio (and its reference) except the newest `ms` milliseconds: the
    /// look-back a push-to-talk turn starts with. With 0, the same as `discardCaptured()`.
    /// While a clock-paced loop coasts the ring lags real time by up to a coast; what it will
    /// catch up is younger than the window and is kept (AudioRTClock.swift), so only the part of
    /// the window the ring already holds is kept here.
    public func discardCaptured(keepingNewestMs ms: Int) {
        captureSide.withLock { side in
            let ring = captureRing.view
            let now = monotonicNanos()
            let window = max(0, ms) * 1_000_000
            shared.pointee.captureDiscardedAt.store(now - window, ordering: .relaxed)
            let newest = shared.pointee.captureNewestNanos.load(ordering: .relaxed)
            let held = window - max(0, min(window, now - newest))
            let seconds = Double(held) / 1e9
            let keep = Int(seconds * Double(side.resampler.inputRate))
            let available = ring.availableToRead()
            if available > keep { ring.skip(to: ring.readPosition + available - keep) }
            side.carry = 0
            side.resampler.reset()
            side.readLimit = nil
            if let rate = side.reference?.resampler.inputRate {
                side.reference?.keepNewest(frames: Int(seconds * Double(rate)))
            }
            armCaptureWake(side, ring)
        }
    }
}

extension AudioEngine {
    /// Frames the capture device has delivered since it opened, as of now: what the ring holds
    /// plus what a coasting clock-paced loop will catch up (for logs and tests that place an
    /// event, e.g. a press, in the microphone's stream).
    public var captureClockFrames: Int {
        let rate = captureSide.withLock { $0.resampler.inputRate }
        let behind = max(0, monotonicNanos() - shared.pointee.captureNewestNanos.load(ordering: .relaxed))
        return shared.pointee.capturedFrames.load(ordering: .relaxed) + Int(Double(behind) / 1e9 * Double(rate))
    }
}
