#if canImport(Glibc)
import Glibc
#endif
import OmniCore

/// Capture conversion state, owned by whoever holds the capture mutex (the ring's consumer):
/// device-rate mono from the capture ring in, the service's 16 kHz out.
/// @unchecked Sendable: it only ever lives inside that Mutex; the resampler is never shared.
struct CaptureSide: @unchecked Sendable {
    var resampler: any Resampler
    /// Device-rate samples taken from the ring but not yet consumed by the resampler.
    var scratch = [Int16](repeating: 0, count: 4096)
    var carry = 0

    init(resampler: any Resampler) { self.resampler = resampler }

    mutating func read(from ring: SPSCRingView, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        var written = 0
        while written < out.count {
            let space = scratch.count - carry
            let offset = carry
            let n = scratch.withUnsafeMutableBufferPointer { ring.read(into: $0.baseAddress! + offset, count: space) }
            let total = carry + n
            if total == 0 { break }
            let r = scratch.withUnsafeBufferPointer { input in
                resampler.process(UnsafeBufferPointer(rebasing: input[0..<total]),
                                  into: UnsafeMutableBufferPointer(rebasing: out[written...]))
            }
            written += r.produced
            let left = total - r.consumed
            if left > 0 && r.consumed > 0 {
                scratch.withUnsafeMutableBufferPointer { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + r.consumed, left * 2)
                }
            }
            carry = left
            if n == 0 && (r.consumed == 0 || r.produced == 0) { break }
        }
        return written
    }
}
