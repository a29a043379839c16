// The impulse response of a simulated room (speaker → microphone), tap 0 being the direct
// path. Synthetic: the direct path, then a tail of seeded Gaussian noise decaying
// exponentially by 60 dB over RT60 (Polack's statistical model of late reverberation, the
// usual stand-in for a measured room), scaled to the spec's direct-to-reverberant ratio.
// Measured: a WAV file's first channel, scaled so that its largest tap has the spec's gain.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum RoomImpulseResponse {
    /// The tail is cut where it has decayed by 72 dB (1.2 × RT60): what lies beyond is far
    /// below any echo cancellation figure worth measuring, and would only cost convolution time.
    public static let tailLengthInRT60 = 1.2

    public static func synthetic(_ spec: RoomSpec, sampleRate: Int) -> [Float] {
        let gain = pow(10, spec.gainDB / 20)
        let decaySamples = spec.rt60Ms / 1000 * Double(sampleRate)
        guard decaySamples >= 1 else { return [Float(gain)] }
        let length = Int((tailLengthInRT60 * decaySamples).rounded(.up)) + 1
        // Amplitude envelope exp(−k·n) with 20·log10(e^(−k·decaySamples)) = −60 dB.
        let k = 3 * log(10.0) / decaySamples
        // Tail energy A²·Σ e^(−2kn) ≈ A² / (1 − e^(−2k)) must be 10^(−DRR/10) of the direct path's.
        let tailEnergy = pow(10, -spec.drrDB / 10)
        let amplitude = (tailEnergy * (1 - exp(-2 * k))).squareRoot()
        var rng = SeededNoise(seed: spec.seed)
        var h = [Float](repeating: 0, count: length)
        h[0] = 1
        for n in 1..<length { h[n] = Float(amplitude * exp(-k * Double(n)) * rng.normal()) }
        return h.map { $0 * Float(gain) }
    }

    /// A measured response at any rate: brought to `sampleRate` by linear interpolation (a
    /// response's energy is mostly well below Nyquist; supply one at the device rate for
    /// exactness), then scaled so the largest tap is the spec's gain.
    public static func measured(_ wav: WAVAudio, spec: RoomSpec, sampleRate: Int) throws(RoomSpecError) -> [Float] {
        guard wav.channels > 0, wav.frameCount > 0 else {
            throw RoomSpecError(field: "ir", message: "the impulse response file holds no samples")
        }
        var source = [Float](repeating: 0, count: wav.frameCount)
        for i in 0..<wav.frameCount { source[i] = Float(wav.samples[i * wav.channels]) }
        let peak = source.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0 else { throw RoomSpecError(field: "ir", message: "the impulse response file is silent") }
        var h: [Float]
        if wav.sampleRate == sampleRate {
            h = source
        } else {
            let step = Double(wav.sampleRate) / Double(sampleRate)
            let count = max(1, Int(Double(source.count - 1) / step) + 1)
            h = (0..<count).map { i in
                let pos = Double(i) * step
                let j = Int(pos), f = Float(pos - Double(j))
                return j + 1 < source.count ? source[j] + (source[j + 1] - source[j]) * f : source[j]
            }
        }
        let scale = Float(pow(10, spec.gainDB / 20)) / (h.reduce(Float(0)) { max($0, abs($1)) })
        return h.map { $0 * scale }
    }

    /// Reverberation time read off a response by Schroeder's backward integration: the slope of
    /// the energy decay curve between −5 and −25 dB, extrapolated to 60 dB (T20). Nil when the
    /// curve never falls that far. For tests and `test-audio`.
    public static func rt60Ms(of h: [Float], sampleRate: Int) -> Double? {
        var remaining = [Double](repeating: 0, count: h.count + 1)
        for n in stride(from: h.count - 1, through: 0, by: -1) { remaining[n] = remaining[n + 1] + Double(h[n]) * Double(h[n]) }
        guard remaining[0] > 0 else { return nil }
        func level(_ n: Int) -> Double { 10 * log10(max(remaining[n], 1e-300) / remaining[0]) }
        guard let start = (0..<h.count).first(where: { level($0) <= -5 }),
              let end = (start..<h.count).first(where: { level($0) <= -25 }), end > start + 1 else { return nil }
        // Least-squares line through the curve between the two points.
        var sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        let count = Double(end - start + 1)
        for n in start...end {
            let x = Double(n), y = level(n)
            sx += x; sy += y; sxx += x * x; sxy += x * y
        }
        let slope = (count * sxy - sx * sy) / (count * sxx - sx * sx)  // dB per sample
        guard slope < 0 else { return nil }
        return -60 / slope / Double(sampleRate) * 1000
    }
}
