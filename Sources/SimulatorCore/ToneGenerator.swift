#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The `tone` answer: a signal a test can recompute sample by sample.
//
//   s[n] = roundHalfAwayFromZero(amplitude · sin(2.0 · π · frequency · n / 24000.0))
//
// for n = 0, 1, … over the whole answer (n does not restart per delta), evaluated in IEEE
// double precision in exactly that order with the C library's sin, then stored as Int16.
// Python: `a = 8000 * math.sin(2.0 * math.pi * 440.0 * n / 24000.0)`,
//         `int(math.copysign(math.floor(abs(a) + 0.5), a))`.
// Defaults: 440 Hz, amplitude 8000 (≈ −12 dBFS), 1000 ms.

public struct ToneSpec: Sendable, Equatable {
    public var frequencyHz: Double
    public var amplitude: Double
    public var durationMs: Int

    public init(frequencyHz: Double = 440, amplitude: Double = 8000, durationMs: Int = 1000) {
        self.frequencyHz = frequencyHz
        self.amplitude = amplitude
        self.durationMs = durationMs
    }

    public static let sampleRate = 24_000

    public var sampleCount: Int { durationMs * Self.sampleRate / 1000 }

    public func sample(_ n: Int) -> Int16 {
        let a = amplitude * sin(2.0 * Double.pi * frequencyHz * Double(n) / 24000.0)
        return Resampler16To24.clamp(a.rounded(.toNearestOrAwayFromZero))
    }

    public func render() -> [Int16] { (0..<sampleCount).map(sample) }
}
