// A small seeded random source for simulations (the room simulator's reverberation tail and
// noise floor, synthetic test signals): the same seed gives the same samples on every machine
// and every run, which the system generator does not promise. SplitMix64: tiny state, no
// allocation, good enough statistics for noise (this is not for cryptography).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct SeededNoise: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// Box–Muller makes two normal values at a time; the second waits here.
    private var spareNormal: Double?

    public init(seed: UInt64) {
        // Mixed once so that nearby seeds (1, 2, 3 …) do not start with related outputs.
        state = seed &* 0x9E37_79B9_7F4A_7C15 ^ 0xD1B5_4A32_D192_ED03
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal (mean 0, variance 1).
    public mutating func normal() -> Double {
        if let s = spareNormal {
            spareNormal = nil
            return s
        }
        // 1 − u keeps the logarithm's argument in (0, 1].
        let u1 = 1 - uniform()
        let u2 = uniform()
        let r = (-2 * log(u1)).squareRoot()
        spareNormal = r * sin(2 * Double.pi * u2)
        return r * cos(2 * Double.pi * u2)
    }
}
