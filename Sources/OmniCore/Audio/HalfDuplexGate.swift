// Half duplex: the microphone is muted while the speaker plays and for a tail after, for when
// the echo cannot be cancelled (echo cancellation off, or its pipeline could not be made).
//
// Why: in hands-free (`vad`) mode the service's voice activity detector hears the answer's own
// echo as the user talking over it and cuts the answer (and answers the echo). In push-to-talk
// the listening earcon would otherwise reach the model at the start of every question.
//
// How: the reference (what the speaker was given, 16 kHz, AudioEngine.readReference) and the
// microphone are two streams that started together, so reference sample i and microphone
// sample i are the same moment; microphone sample m is muted while any reference sample in
// [m − tail, m] was above the silence threshold. The tail covers what the echo takes to arrive
// and to die away: the devices' buffers (the reference is tapped when written to the playback
// device, the echo read a capture buffer later) plus the room's reverberation.
//
// Muted samples are zeros, not dropped: the service's VAD counts time in samples, so it still
// sees the silence that ends an utterance, its audio_start_ms stay in step with the clock, and
// digital silence never counts as speech. On the controller, per sample; the list of waiting
// stretches keeps its capacity.

public struct HalfDuplexGate: Sendable {
    /// A reference sample at least this loud counts as the speaker playing (−60 dBFS).
    public static let playingThreshold: Int16 = 33

    /// Samples muted after the last loud reference sample.
    public let tailSamples: Int
    private var referenceIndex = 0
    private var microphoneIndex = 0
    /// Stretches [start, end) of microphone indices to mute, in order, not overlapping; the
    /// reference runs ahead of the microphone, so several may wait.
    private var stretches: [(start: Int, end: Int)] = []
    private var head = 0
    public private(set) var mutedSamples = 0

    public init(tailSamples: Int) {
        self.tailSamples = max(0, tailSamples)
        stretches.reserveCapacity(64)
    }

    /// The tail for devices of `periodMs` × `bufferPeriods`: both buffers (speaker and
    /// microphone) plus 150 ms, in which a typical room's reverberation (RT60 ≈ 300 ms) falls
    /// 30 dB — below the service VAD's threshold for an echo that arrives 6 dB under the answer.
    public static func tailMs(periodMs: Int, bufferPeriods: Int) -> Int {
        2 * max(1, periodMs) * max(1, bufferPeriods) + 150
    }

    /// What the speaker was just given (in order, the microphone's rate).
    public mutating func pushReference(_ samples: UnsafeBufferPointer<Int16>) {
        for i in 0..<samples.count where samples[i] >= Self.playingThreshold || samples[i] <= -Self.playingThreshold {
            let at = referenceIndex + i
            if head < stretches.count, stretches[stretches.count - 1].end >= at {
                stretches[stretches.count - 1].end = at + 1 + tailSamples
            } else {
                stretches.append((at, at + 1 + tailSamples))
            }
        }
        referenceIndex += samples.count
    }

    /// Mutes, in place, the microphone samples that fall in a playing stretch.
    public mutating func process(_ microphone: UnsafeMutableBufferPointer<Int16>) {
        for i in 0..<microphone.count {
            let m = microphoneIndex + i
            while head < stretches.count, stretches[head].end <= m { head += 1 }
            if head < stretches.count, stretches[head].start <= m {
                microphone[i] = 0
                mutedSamples += 1
            }
        }
        microphoneIndex += microphone.count
        if head == stretches.count {
            stretches.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Whether the next microphone sample is muted (the speaker plays, or did within the tail).
    public var muting: Bool {
        stretches[head...].contains { $0.start <= microphoneIndex && microphoneIndex < $0.end }
    }

    /// Both streams start over after a discontinuity (an xrun, a reopen: index 0 of each now,
    /// both drained to about the same moment), and what was still to be muted stays muted from
    /// the new start: an earcon whose reference was just seen has its echo still to come, and
    /// forgetting it with the old indices would let that echo through. Conservative: up to the
    /// end of the last waiting stretch, gaps included.
    public mutating func restartKeepingMute() {
        var left = 0
        for k in head..<stretches.count { left = max(left, stretches[k].end - microphoneIndex) }
        reset()
        if left > 0 { stretches.append((0, left)) }
    }

    /// Both streams start over (index 0 of each now), nothing playing.
    public mutating func reset() {
        referenceIndex = 0
        microphoneIndex = 0
        stretches.removeAll(keepingCapacity: true)
        head = 0
    }
}
