// An in-place radix-2 complex FFT on split real/imaginary Float arrays, for the echo path's
// delay estimator (cross-correlation of seconds of audio: O(n log n) instead of the direct
// form's n × lags, 32 k points in well under a millisecond per transform). Twiddles and the
// bit-reversal permutation are computed once per size; transforms never allocate.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class FFT {
    public let size: Int
    private let log2Size: Int
    private let cosTable: UnsafeMutablePointer<Float>
    private let sinTable: UnsafeMutablePointer<Float>
    private let reversed: UnsafeMutablePointer<Int32>

    /// `size` must be a power of two ≥ 2.
    public init(size: Int) {
        precondition(size >= 2 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        log2Size = size.trailingZeroBitCount
        cosTable = .allocate(capacity: size / 2)
        sinTable = .allocate(capacity: size / 2)
        for k in 0..<(size / 2) {
            let a = -2 * Double.pi * Double(k) / Double(size)
            cosTable[k] = Float(cos(a))
            sinTable[k] = Float(sin(a))
        }
        reversed = .allocate(capacity: size)
        for i in 0..<size {
            var r = 0, v = i
            for _ in 0..<log2Size { r = (r << 1) | (v & 1); v >>= 1 }
            reversed[i] = Int32(r)
        }
    }

    deinit {
        cosTable.deallocate()
        sinTable.deallocate()
        reversed.deallocate()
    }

    public static func size(atLeast n: Int) -> Int {
        var s = 2
        while s < n { s <<= 1 }
        return s
    }

    /// Forward transform (e^(−2πi·kn/N)), unscaled.
    public func forward(real: UnsafeMutablePointer<Float>, imaginary: UnsafeMutablePointer<Float>) {
        transform(real, imaginary, inverse: false)
    }

    /// Inverse transform, scaled by 1/N so that inverse(forward(x)) == x.
    public func inverse(real: UnsafeMutablePointer<Float>, imaginary: UnsafeMutablePointer<Float>) {
        transform(real, imaginary, inverse: true)
        let scale = 1 / Float(size)
        for i in 0..<size {
            real[i] *= scale
            imaginary[i] *= scale
        }
    }

    private func transform(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, inverse: Bool) {
        for i in 0..<size {
            let j = Int(reversed[i])
            if j > i {
                swap(&re[i], &re[j])
                swap(&im[i], &im[j])
            }
        }
        let sign: Float = inverse ? -1 : 1
        var half = 1
        while half < size {
            let stride = size / (2 * half)
            var start = 0
            while start < size {
                for k in 0..<half {
                    let wr = cosTable[k * stride], wi = sign * sinTable[k * stride]
                    let a = start + k, b = a + half
                    let tr = re[b] * wr - im[b] * wi
                    let ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
                start += 2 * half
            }
            half *= 2
        }
    }
}
