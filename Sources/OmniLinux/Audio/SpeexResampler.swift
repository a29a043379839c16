import CSpeexDSP
import OmniCore

// libspeexdsp's resampler behind OmniCore's `Resampler` contract.
//
// Why speexdsp: a band-limited windowed-sinc polyphase converter with arbitrary integer rate
// ratios (44.1 kHz ↔ 16/24 kHz included), streaming state, no allocation per call, in Debian
// as a small C library, and the same one PulseAudio and PipeWire use. Quality 5 ("desktop")
// by default: cheap at voice rates (see bench/audio for the measured cost) with a stop band
// well beyond what a voice path needs (the capture test demands ≥ 40 dB SNR against ideal
// resampling).
//
// Alignment: speex_resampler_skip_zeros() right after creation and after every reset, so the
// filter delay is not emitted as leading zeros; `finish()` feeds the input latency as zeros
// to push the tail out.

public final class SpeexResampler: Resampler {
    public let inputRate: Int
    public let outputRate: Int
    public let quality: Int
    private let state: OpaquePointer
    private let inputLatency: Int

    public enum Failure: Error, CustomStringConvertible {
        case initFailed(Int32)
        public var description: String {
            switch self {
            case .initFailed(let code): "speex resampler init failed: \(String(cString: speex_resampler_strerror(code)))"
            }
        }
    }

    /// Default quality (0 worst … 10 best).
    public static let defaultQuality = 5

    public init(inputRate: Int, outputRate: Int, quality: Int = SpeexResampler.defaultQuality) throws {
        var err: Int32 = 0
        let q = Int32(min(10, max(0, quality)))
        guard let st = speex_resampler_init(1, spx_uint32_t(inputRate), spx_uint32_t(outputRate), q, &err) else {
            throw Failure.initFailed(err)
        }
        state = st
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.quality = Int(q)
        inputLatency = Int(speex_resampler_get_input_latency(st))
        speex_resampler_skip_zeros(st)
    }

    deinit { speex_resampler_destroy(state) }

    public func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>)
        -> (consumed: Int, produced: Int)
    {
        guard let inBase = input.baseAddress, let outBase = output.baseAddress, !input.isEmpty, !output.isEmpty else {
            return (0, 0)
        }
        var inLen = spx_uint32_t(input.count)
        var outLen = spx_uint32_t(output.count)
        speex_resampler_process_int(state, 0, inBase, &inLen, outBase, &outLen)
        return (Int(inLen), Int(outLen))
    }

    public func finish(into output: inout [Int16]) {
        let zeros = [Int16](repeating: 0, count: inputLatency)
        // Only the part of the tail that corresponds to real input is wanted: the filter holds
        // `inputLatency` input samples' worth, i.e. that many × ratio output samples.
        let wanted = inputLatency * outputRate / inputRate
        var tail: [Int16] = []
        convert(zeros, appendingTo: &tail)
        output.append(contentsOf: tail.prefix(wanted))
        reset()
    }

    public func reset() {
        speex_resampler_reset_mem(state)
        speex_resampler_skip_zeros(state)
    }
}

/// The converter for a rate pair: bit-exact passthrough when equal, speexdsp otherwise.
public func makeResampler(from inputRate: Int, to outputRate: Int, quality: Int = SpeexResampler.defaultQuality)
    throws -> any Resampler
{
    if inputRate == outputRate { return PassthroughResampler(rate: inputRate) }
    return try SpeexResampler(inputRate: inputRate, outputRate: outputRate, quality: quality)
}
