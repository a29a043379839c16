#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// 16 kHz → 24 kHz conversion for the `echo` answer (the user's audio played back in the
// service's output format).
//
// Choice: a polyphase windowed-sinc filter (up by 3, low-pass at 48 kHz, down by 2), computed
// directly at the output rate so only the taps that meet a real input sample are evaluated.
// - Prototype: sinc low-pass with cut-off 7.2 kHz, Kaiser window β = 7 (≈ 70 dB stop band),
//   145 taps at 48 kHz = 48 taps per output sample. The 8 kHz input Nyquist edge keeps images
//   of anything below ≈ 7.9 kHz out of the audible result.
// - Each of the three polyphase branches is normalised to unit DC gain, so a constant input
//   stays constant (no 1/3-amplitude ripple from the zero stuffing).
// - The filter's group delay (72 taps at 48 kHz) is compensated: output sample n sits at time
//   n / 24000 s, exactly like input sample k sits at k / 16000 s. A test can therefore compare
//   against the ideal continuous signal sampled at 24 kHz.
// Linear interpolation was ruled out: it leaves images at −20…−30 dB that are audible on a
// loudspeaker and would make the demo sound worse than the real service.

public struct Resampler16To24: Sendable {
    static let up = 3
    static let down = 2
    /// Half length in 48 kHz taps; the prototype has 2·halfTaps + 1 taps.
    static let halfTaps = 72
    static let cutoffHz = 7_200.0
    static let intermediateRate = 48_000.0
    static let kaiserBeta = 7.0

    /// The prototype filter, index i ↔ offset i − halfTaps at 48 kHz.
    let taps: [Double]

    public init() {
        let n = 2 * Self.halfTaps + 1
        let fc = Self.cutoffHz / Self.intermediateRate
        var h = [Double](repeating: 0, count: n)
        let i0Beta = Self.besselI0(Self.kaiserBeta)
        for i in 0..<n {
            let d = Double(i - Self.halfTaps)
            let sinc = d == 0 ? 2 * fc : sin(2 * Double.pi * fc * d) / (Double.pi * d)
            let r = d / Double(Self.halfTaps)
            let window = Self.besselI0(Self.kaiserBeta * (1 - r * r).squareRoot()) / i0Beta
            h[i] = sinc * window
        }
        // Unit DC gain per polyphase branch (taps whose index has the same residue mod 3).
        for phase in 0..<Self.up {
            var sum = 0.0
            for i in stride(from: phase, to: n, by: Self.up) { sum += h[i] }
            for i in stride(from: phase, to: n, by: Self.up) { h[i] /= sum }
        }
        taps = h
    }

    /// Output length for `count` input samples: ⌈count · 3 / 2⌉.
    public static func outputCount(_ count: Int) -> Int { (count * up + down - 1) / down }

    /// Converts a whole utterance (zero signal assumed outside it).
    public func process(_ input: [Int16]) -> [Int16] {
        let outCount = Self.outputCount(input.count)
        guard outCount > 0 else { return [] }
        var out = [Int16](repeating: 0, count: outCount)
        let c = Self.halfTaps
        taps.withUnsafeBufferPointer { h in
            input.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { y in
                    for n in 0..<outCount {
                        let m = Self.down * n  // position at 48 kHz
                        // Input k contributes when |m − 3k| ≤ c.
                        let kLo = max(0, (m - c + Self.up - 1) / Self.up)
                        let kHi = min(x.count - 1, (m + c) / Self.up)
                        var acc = 0.0
                        if kLo <= kHi {
                            for k in kLo...kHi { acc += Double(x[k]) * h[m - Self.up * k + c] }
                        }
                        y[n] = Self.clamp(acc)
                    }
                }
            }
        }
        return out
    }

    static func clamp(_ v: Double) -> Int16 {
        let r = v.rounded()
        return r >= 32767 ? .max : r <= -32768 ? .min : Int16(r)
    }

    /// Modified Bessel function of the first kind, order 0 (power series; converges fast for β ≤ 20).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0
        let q = x * x / 4
        var k = 1.0
        while term > sum * 1e-17 {
            term *= q / (k * k)
            sum += term
            k += 1
        }
        return sum
    }
}
