#if canImport(Glibc)
import Glibc
#endif
import OmniCore

/// What the capture ring's consumer wants, which decides when the audio thread wakes anyone
/// (AudioEngine.setCaptureInterest). The audio thread writes the ring every period whatever
/// this is; it only decides who hears about it.
public enum CaptureInterest: Sendable, Equatable {
    /// The owner reads on its own schedule (tests, `omnid test-audio`, the audio benchmark):
    /// no wake-ups, and a full ring refuses new audio (counted as overflow).
    case polled
    /// Nobody wants the audio now (push-to-talk, button up). Whenever the ring is three
    /// quarters full the monitor drops all but its newest quarter, so the ring always holds
    /// the latest audio (what a look-back before the press would take) for one monitor
    /// wake-up every few seconds, and the controller is not woken at all.
    case idle
    /// Report `.captureReady` once about `samples` (16 kHz) can be read. One-shot: set it
    /// again after reading.
    case wake(afterSamples: Int)
}

/// Capture conversion state, owned by whoever holds the capture mutex (the ring's consumer):
/// device-rate mono from the capture ring in, the service's 16 kHz out.
/// @unchecked Sendable: it only ever lives inside that Mutex; the resampler is never shared.
struct CaptureSide: @unchecked Sendable {
    var resampler: any Resampler
    /// Device-rate samples taken from the ring but not yet consumed by the resampler.
    var scratch = [Int16](repeating: 0, count: 4096)
    var carry = 0
    var interest: CaptureInterest = .polled
    /// Ring position reads stop at (AudioEngine.limitCapture); nil: none.
    var readLimit: Int?
    /// The echo reference ring's consumer (AudioEngine+Reference.swift); nil without a tap.
    /// Under the same mutex, so a trim or a discard treats both streams at once.
    var reference: ReferenceReader?

    init(resampler: any Resampler) { self.resampler = resampler }

    mutating func read(from ring: SPSCRingView, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        readResampled(from: ring, resampler: resampler, scratch: &scratch, carry: &carry, into: out, limit: readLimit)
    }
}

/// Drains `ring` through `resampler` into `out`; `scratch` holds device-rate samples taken from
/// the ring, `carry` how many of them the resampler has not consumed yet. Returns samples written.
func readResampled(from ring: SPSCRingView, resampler: any Resampler, scratch: inout [Int16], carry: inout Int,
                   into out: UnsafeMutableBufferPointer<Int16>, limit: Int? = nil) -> Int {
    var written = 0
    while written < out.count {
        var space = scratch.count - carry
        if let limit { space = min(space, max(0, limit - ring.readPosition)) }
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

extension CaptureSide {
    /// The capture ring write position the audio thread should wake the monitor at for the
    /// current interest (Int.max: never). Under the capture mutex, like every use of the side.
    func wakePosition(ring: SPSCRingView, outputRate: Int) -> Int {
        switch interest {
        case .polled:
            return .max
        case .idle:
            return ring.readPosition + ring.capacity / 4 * 3
        case .wake(let samples):
            // Device frames that make `samples` at the output rate, less those already taken
            // from the ring; the resampler's delay may leave a few short (the owner asks again).
            let rate = resampler.inputRate
            let frames = (max(1, samples) * rate + outputRate - 1) / outputRate - carry
            return ring.readPosition + max(1, frames)
        }
    }

    /// Idle trim: keeps only the newest quarter of the ring (consumer side, mutex held).
    mutating func trim(ring: SPSCRingView) {
        let keep = ring.capacity / 4
        let available = ring.availableToRead()
        guard available > keep else { return }
        ring.skip(to: ring.readPosition + available - keep)
        carry = 0
        resampler.reset()
        // The reference keeps the same stretch of time (its ring is sized to hold it).
        if let rate = reference?.resampler.inputRate {
            reference?.keepNewest(frames: keep * rate / max(1, resampler.inputRate))
        }
    }
}

/// A catch-up under way (AudioEngine.catchUpCapture): `token` to ask whether it is done, and
/// the capture ring position where the audio of the moment it was asked for ends.
public struct CaptureCatchUp: Sendable, Equatable {
    public let token: Int
    public let end: Int
}
