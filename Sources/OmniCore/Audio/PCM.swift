// Sample-level operations the audio thread performs every period: channel down/up-mixing,
// device sample format conversion, software gain and earcon mixing. Pointer-based, no
// allocation, no locking; all integer arithmetic saturates instead of wrapping.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The device sample formats the engine accepts (interleaved, little endian).
public enum DeviceSampleFormat: Int, Sendable, Equatable, CustomStringConvertible {
    /// 16-bit signed.
    case s16 = 0
    /// 32-bit signed (24-bit I²S codecs and MEMS microphones deliver this).
    case s32 = 1

    public var bytesPerSample: Int { self == .s16 ? 2 : 4 }
    public var description: String { self == .s16 ? "S16_LE" : "S32_LE" }
}

/// A software gain in Q16 fixed point: 65536 is unity, which is passed through bit-exactly.
public struct Gain: Sendable, Equatable {
    public static let unityQ16: Int32 = 65536
    /// Highest accepted linear factor (+12 dB).
    public static let maximum = 4.0

    public let q16: Int32

    /// From a linear factor, clamped to 0…`maximum`.
    public init(linear: Double) {
        let clamped = linear.isNaN ? 0 : min(Gain.maximum, max(0, linear))
        q16 = Int32((clamped * 65536).rounded())
    }

    public init(q16: Int32) { self.q16 = max(0, min(q16, Int32(Gain.maximum * 65536))) }

    public static let unity = Gain(q16: unityQ16)
    public var linear: Double { Double(q16) / 65536 }
    public var isUnity: Bool { q16 == Gain.unityQ16 }

    /// In dB (−∞ for silence).
    public var decibels: Double { PCM.decibels(linear) }
}

public enum PCM {
    @inlinable
    public static func clampToInt16(_ v: Double) -> Int16 {
        let r = v.rounded()
        return r >= 32767 ? .max : r <= -32768 ? .min : Int16(r)
    }

    @inlinable
    public static func saturate(_ v: Int32) -> Int16 {
        v > 32767 ? .max : v < -32768 ? .min : Int16(truncatingIfNeeded: v)
    }

    /// 20·log10(x) (x a linear amplitude ratio), −∞ for 0.
    public static func decibels(_ linear: Double) -> Double {
        guard linear > 0 else { return -.infinity }
        return 20 * log10(linear)
    }

    // MARK: capture: device frames → mono Int16

    /// Averages `channels` interleaved samples of each frame into one mono Int16 sample.
    /// `source` holds `frames` frames in `format`.
    @inlinable
    public static func downmixToMono(_ source: UnsafeRawPointer, format: DeviceSampleFormat, channels: Int,
                                     frames: Int, into destination: UnsafeMutablePointer<Int16>) {
        switch format {
        case .s16:
            let s = source.assumingMemoryBound(to: Int16.self)
            if channels == 1 {
                destination.update(from: s, count: frames)
                return
            }
            for f in 0..<frames {
                var acc: Int32 = 0
                let base = f * channels
                for c in 0..<channels { acc += Int32(s[base + c]) }
                destination[f] = Int16(truncatingIfNeeded: roundedDivide(Int64(acc), Int64(channels)))
            }
        case .s32:
            let s = source.assumingMemoryBound(to: Int32.self)
            for f in 0..<frames {
                var acc: Int64 = 0
                let base = f * channels
                for c in 0..<channels { acc += Int64(s[base + c]) }
                // Average, then keep the top 16 bits with rounding.
                let mean = roundedDivide(acc, Int64(channels))
                destination[f] = saturate(Int32(truncatingIfNeeded: roundedDivide(mean, 65536)))
            }
        }
    }

    /// Integer division rounding half away from zero.
    @inlinable
    static func roundedDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b)
    }

    // MARK: playback: mono Int16 → device frames

    /// Copies each mono sample to every channel of a frame in the device format.
    @inlinable
    public static func upmixFromMono(_ source: UnsafePointer<Int16>, frames: Int, format: DeviceSampleFormat,
                                     channels: Int, into destination: UnsafeMutableRawPointer) {
        switch format {
        case .s16:
            let d = destination.assumingMemoryBound(to: Int16.self)
            if channels == 1 {
                d.update(from: source, count: frames)
                return
            }
            for f in 0..<frames {
                let v = source[f]
                let base = f * channels
                for c in 0..<channels { d[base + c] = v }
            }
        case .s32:
            let d = destination.assumingMemoryBound(to: Int32.self)
            for f in 0..<frames {
                let v = Int32(source[f]) << 16
                let base = f * channels
                for c in 0..<channels { d[base + c] = v }
            }
        }
    }

    // MARK: gain and mixing

    /// Multiplies `count` samples by `gain` in place (saturating). Unity is a no-op.
    @inlinable
    public static func applyGain(_ gain: Gain, to samples: UnsafeMutablePointer<Int16>, count: Int) {
        let g = Int64(gain.q16)
        if g == Int64(Gain.unityQ16) { return }
        if g == 0 {
            samples.update(repeating: 0, count: count)
            return
        }
        for i in 0..<count {
            let v = (Int64(samples[i]) * g + 32768) >> 16
            samples[i] = v > 32767 ? .max : v < -32768 ? .min : Int16(truncatingIfNeeded: v)
        }
    }

    /// `destination[i] += source[i]` for `count` samples, saturating.
    @inlinable
    public static func mix(_ source: UnsafePointer<Int16>, into destination: UnsafeMutablePointer<Int16>, count: Int) {
        for i in 0..<count {
            destination[i] = saturate(Int32(destination[i]) + Int32(source[i]))
        }
    }
}
