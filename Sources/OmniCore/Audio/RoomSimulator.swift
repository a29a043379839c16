// A simulated room for the `file:` audio backend, tests and the echo benchmark: what the
// speaker played comes back into the microphone, as it does in a real box — after a bulk
// delay, through the room's impulse response (direct path + reverberation), under a noise
// floor, and sampled by a microphone whose clock runs `drift_ppm` faster than the speaker's.
//
// The two sides are fed separately because, with two devices, they are two streams on two
// clocks: `play` takes what the speaker played (any count, at the speaker's rate), `capture`
// adds the room's sound to microphone samples (at the microphone's rate). The sound reaching
// microphone sample m left the speaker at speaker sample m / (1 + drift) − delay; between
// speaker samples it is read with a band-limited interpolator, so drift is a true fractional
// resampling, not sample dropping.
//
// Streaming and allocation-free after init (the convolution accumulator, the history and the
// impulse response are allocated once), so the file backend can run it on the audio thread.
// The convolution is the direct form, scattered from each non-zero speaker sample: cheap for
// clicks and silence, |IR| multiply-adds per sample for speech (4,800 at 16 kHz, RT60 250 ms).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class RoomSimulator {
    public let spec: RoomSpec
    public let sampleRate: Int
    /// The response in use, tap 0 = direct path (for tests and reports).
    public let impulseResponse: [Float]
    /// Times the microphone's read position ran out of the held sound (drift ate the whole delay,
    /// or piled up more than the history holds) and was put back at the configured delay, as a
    /// real pair of devices would after an xrun.
    public private(set) var resyncs = 0

    private let ir: UnsafeMutablePointer<Float>
    private let irCount: Int
    /// Speaker samples convolved per step; the accumulator holds irCount + maxBlock − 1 sums.
    private let maxBlock = 256
    private let accumulator: UnsafeMutablePointer<Float>
    /// The sound at the microphone's position, on the speaker's clock (absolute speaker index).
    private let sound: SampleHistory
    private let interpolator = SincInterpolator()
    private var noise: SeededNoise
    private let noiseRMS: Double
    private let delaySamples: Double
    /// Speaker samples per microphone sample.
    private let step: Double
    /// Drift or a delay of a fraction of a sample: positions between samples.
    private let fractional: Bool
    private var micIndex = 0
    /// Added to the read position after a resync.
    private var offset = 0.0

    /// `impulseResponse` overrides the spec's synthetic one (pass a measured file's, already
    /// decoded with `RoomImpulseResponse.measured`).
    public init(spec: RoomSpec, sampleRate: Int, impulseResponse: [Float]? = nil) {
        self.spec = spec
        self.sampleRate = sampleRate
        let h = impulseResponse ?? RoomImpulseResponse.synthetic(spec, sampleRate: sampleRate)
        self.impulseResponse = h
        irCount = max(1, h.count)
        ir = .allocate(capacity: irCount)
        ir.initialize(repeating: 0, count: irCount)
        for (i, v) in h.enumerated() { ir[i] = v }
        accumulator = .allocate(capacity: irCount + maxBlock)
        accumulator.initialize(repeating: 0, count: irCount + maxBlock)
        delaySamples = spec.delayMs / 1000 * Double(sampleRate)
        step = 1 / (1 + spec.driftPPM * 1e-6)
        fractional = step != 1 || delaySamples != delaySamples.rounded()
        // The configured delay plus 4 s of drift slack (100 ppm piles up 4 s in 11 hours).
        sound = SampleHistory(capacity: Int(delaySamples) + 4 * sampleRate + 2 * maxBlock)
        // A separate stream from the tail's, so changing the noise level does not change the room.
        noise = SeededNoise(seed: spec.seed ^ 0x6E6F_6973_6500_0000)
        noiseRMS = 32768 * pow(10, spec.noiseDB / 20)
    }

    deinit {
        ir.deallocate()
        accumulator.deallocate()
    }

    /// The speaker side: `samples` were just played.
    public func play(_ samples: UnsafeBufferPointer<Int16>) {
        guard let base = samples.baseAddress else { return }
        var done = 0
        while done < samples.count {
            let n = min(maxBlock, samples.count - done)
            convolve(base + done, count: n)
            done += n
        }
    }

    private func convolve(_ x: UnsafePointer<Int16>, count n: Int) {
        for i in 0..<n where x[i] != 0 {
            let v = Float(x[i])
            let out = accumulator + i
            for k in 0..<irCount { out[k] += v * ir[k] }
        }
        for i in 0..<n { sound.append(accumulator[i]) }
        // Slide the partial sums down and clear the freed end.
        accumulator.update(from: accumulator + n, count: irCount - 1)
        (accumulator + irCount - 1).update(repeating: 0, count: n)
    }

    /// The microphone side: adds the room's sound and noise floor to `microphone` in place
    /// (it holds what else the microphone hears, e.g. a near-end talker, or zeros).
    public func capture(into microphone: UnsafeMutableBufferPointer<Int16>) {
        let reach = interpolator.halfTaps
        // Where this block reads, and whether that is held; if not, move back to the delay.
        // Whole-sample positions need no look-ahead; interpolated ones need `reach` samples.
        let lookAhead = fractional ? reach : 0
        let first = Double(micIndex) * step - delaySamples + offset
        let last = first + Double(max(0, microphone.count - 1)) * step
        let newest = Double(sound.written - 1 - lookAhead)
        let forgotten = sound.oldest > 0 && first < Double(sound.oldest + reach)
        // Only a run that has played more than the delay can be out of range at the new end.
        let early = last > newest && Double(sound.written) > delaySamples + Double(2 * reach + microphone.count)
        if microphone.count > 0, forgotten || early {
            offset += (newest - delaySamples) - last
            resyncs += 1
        }
        for i in 0..<microphone.count {
            let pos = Double(micIndex + i) * step - delaySamples + offset
            var echo: Float = 0
            let base = Int(pos.rounded(.down))
            let frac = pos - Double(base)
            if frac == 0 {
                echo = sound.sample(at: base)
            } else if let p = sound.contiguous(from: base - reach + 1, count: 2 * reach) {
                echo = interpolator.value(center: p + (reach - 1), fraction: frac)
            }
            let n = noiseRMS > 0.001 ? noiseRMS * noise.normal() : 0
            microphone[i] = PCM.clampToInt16(Double(microphone[i]) + Double(echo) + n)
        }
        micIndex += microphone.count
    }

    /// One period of a device pair on one clock: play, then capture the same number of samples.
    public func process(played: UnsafeBufferPointer<Int16>, microphone: UnsafeMutableBufferPointer<Int16>) {
        play(played)
        capture(into: microphone)
    }
}
