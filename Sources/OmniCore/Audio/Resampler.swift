// Sample-rate conversion seam. The production implementation is libspeexdsp's resampler
// (OmniLinux/Audio/SpeexResampler.swift): a windowed-sinc polyphase filter, far from the
// linear interpolation ALSA's plug layer would otherwise use. OmniCore only defines the
// contract and the streaming helper around it, so the conversion bookkeeping is testable
// without the C library.
//
// Contract:
//  - mono Int16 in, mono Int16 out, fixed rates for the resampler's life;
//  - aligned start: output sample n corresponds to time n / outputRate, like input sample k to
//    k / inputRate (the filter delay is skipped, not emitted as leading zeros);
//  - `finish()` pushes out the filter's tail so a stream's end is not cut, then the resampler
//    is ready for a new, unrelated stream; `reset()` forgets the current stream without tail.
//  - Not thread-safe: one owner at a time (the engine keeps each behind a mutex).

public protocol Resampler: AnyObject {
    var inputRate: Int { get }
    var outputRate: Int { get }

    /// Converts as much of `input` as fits in `output`; returns what was consumed and produced.
    func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>)
        -> (consumed: Int, produced: Int)

    /// Ends the stream: appends the remaining filtered samples to `output` and resets.
    func finish(into output: inout [Int16])

    /// Forgets the current stream (barge-in); the next input starts a fresh, aligned stream.
    func reset()
}

extension Resampler {
    /// Output samples `inputCount` input samples can produce at most (plus slack for rounding).
    public func maximumOutput(forInput inputCount: Int) -> Int {
        (inputCount * outputRate + inputRate - 1) / inputRate + 2
    }

    /// Converts the whole of `input`, appending to `output`.
    public func convert(_ input: UnsafeBufferPointer<Int16>, appendingTo output: inout [Int16]) {
        var offset = 0
        let chunkLimit = 4096
        while offset < input.count {
            let chunk = min(chunkLimit, input.count - offset)
            let room = maximumOutput(forInput: chunk)
            let before = output.count
            output.append(contentsOf: repeatElement(0, count: room))
            let r = output.withUnsafeMutableBufferPointer { out in
                process(UnsafeBufferPointer(rebasing: input[offset..<(offset + chunk)]),
                        into: UnsafeMutableBufferPointer(rebasing: out[before..<(before + room)]))
            }
            output.removeLast(room - r.produced)
            let consumed = r.consumed
            // A resampler that consumes nothing with room to spare is broken; avoid spinning.
            if consumed == 0 { break }
            offset += consumed
        }
    }

    public func convert(_ input: [Int16], appendingTo output: inout [Int16]) {
        input.withUnsafeBufferPointer { convert($0, appendingTo: &output) }
    }
}

/// Equal rates: a bit-exact copy, no filter, no delay.
public final class PassthroughResampler: Resampler {
    public let inputRate: Int
    public var outputRate: Int { inputRate }

    public init(rate: Int) { inputRate = rate }

    public func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>)
        -> (consumed: Int, produced: Int)
    {
        let n = min(input.count, output.count)
        if n > 0, let src = input.baseAddress, let dst = output.baseAddress { dst.update(from: src, count: n) }
        return (n, n)
    }

    public func finish(into output: inout [Int16]) {}
    public func reset() {}
}
