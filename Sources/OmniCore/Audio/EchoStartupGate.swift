// Half duplex while the canceller learns. speexdsp's filter needs about a second of far-end
// sound before it adapts at full speed and two to three before it removes 20 dB, and until
// then the far end's echo reaches the service — where, with server-side VAD, it can pass for
// the user talking over the answer. This gate covers that start: while the far end plays and
// the canceller's measured echo reduction is short of `targetDB`, the output is attenuated by
// the shortfall. Once the canceller has reached the target (or after `maximumSeconds` of far-end
// sound, so that a room the canceller cannot handle does not leave the box half duplex for
// good), the gate opens for good, until the canceller is reset.
//
// The price: a near-end talker during those first seconds of the first answer is attenuated
// too. Afterwards it costs nothing. Per frame, no allocation.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct EchoStartupGate: Sendable {
    public var targetDB = 25.0
    public var maximumSeconds = 6.0
    /// Far-end level (aligned reference, dBFS) below which nothing is gated.
    public var activeDBFS = -50.0

    public private(set) var open = false
    private var micEnergy = 0.0
    private var outEnergy = 0.0
    /// Far-end activity seen since the last reset, in samples.
    private var activeSamples = 0
    /// Power envelope of the aligned reference, held through the room's reverberation.
    private var envelope = 0.0
    private var gain = 1.0

    public init() {}

    public mutating func reset() {
        open = false
        micEnergy = 0
        outEnergy = 0
        activeSamples = 0
        envelope = 0
        gain = 1
    }

    /// Measures the canceller on this frame and attenuates `output` in place if still needed.
    public mutating func process(microphone: UnsafePointer<Int16>, reference: UnsafePointer<Int16>,
                                 output: UnsafeMutablePointer<Int16>, count: Int, sampleRate: Int) {
        guard !open, count > 0 else { return }
        var r = 0.0, m = 0.0, o = 0.0
        for i in 0..<count {
            r += Double(reference[i]) * Double(reference[i])
            m += Double(microphone[i]) * Double(microphone[i])
            o += Double(output[i]) * Double(output[i])
        }
        // Decays 60 dB in 300 ms: the echo outlasts the reference by the reverberation.
        let frameSeconds = Double(count) / Double(sampleRate)
        envelope = max(r / Double(count), envelope * pow(10, -6 * frameSeconds / 0.3))
        let threshold = pow(32768 * pow(10, activeDBFS / 20), 2)
        var target = 1.0
        if envelope > threshold {
            activeSamples += count
            // Echo reduction over the last ~0.5 s of far-end activity.
            let keep = max(0, 1 - frameSeconds / 0.5)
            micEnergy = micEnergy * keep + m
            outEnergy = outEnergy * keep + o
            let reduction = 10 * log10(max(micEnergy, 1) / max(outEnergy, 1))
            if reduction >= targetDB || Double(activeSamples) >= maximumSeconds * Double(sampleRate) {
                open = true
            } else {
                target = pow(10, -(targetDB - reduction) / 20)
            }
        }
        if open { target = 1 }
        // Ramp across the frame so the gain change does not click.
        let start = gain
        for i in 0..<count {
            let g = start + (target - start) * Double(i + 1) / Double(count)
            output[i] = PCM.clampToInt16(Double(output[i]) * g)
        }
        gain = target
    }
}
