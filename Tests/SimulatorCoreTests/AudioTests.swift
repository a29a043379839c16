import RealtimeProtocol
import XCTest

@testable import SimulatorCore

final class AudioTests: XCTestCase {
    /// The tone answer, decoded from the deltas, equals the documented formula sample by sample.
    func testToneAnswerIsSampleExact() {
        var o = SimOptions.fast()
        o.answer = .tone(ToneSpec(frequencyHz: 440, amplitude: 8000, durationMs: 1000))
        let h = Harness(options: o)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 100))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        let out = h.outputAudio
        XCTAssertEqual(out.count, 24_000)
        for n in 0..<out.count {
            // Written out independently of ToneSpec: the formula documented in ToneGenerator.swift.
            let a = 8000 * sin(2.0 * Double.pi * 440.0 * Double(n) / 24000.0)
            let expected = Int16((abs(a) + 0.5).rounded(.down) * (a < 0 ? -1 : 1))
            if out[n] != expected { return XCTFail("sample \(n): \(out[n]) != \(expected)") }
        }
        XCTAssertEqual(Array(out.prefix(4)), [0, 919, 1827, 2710], "as Python computes them")
    }

    /// SNR of a 1 kHz sine resampled 16 k → 24 k against the ideal 24 kHz sine.
    func snr(hz: Double, amplitude: Double = 12000) -> Double {
        let input = (0..<16_000).map { Int16((amplitude * sin(2 * Double.pi * hz * Double($0) / 16_000)).rounded()) }
        let out = Resampler16To24().process(input)
        XCTAssertEqual(out.count, 24_000)
        var sig = 0.0, err = 0.0
        for n in 200..<(out.count - 200) {  // skip the edges, where the input starts/stops abruptly
            let ideal = amplitude * sin(2 * Double.pi * hz * Double(n) / 24_000)
            sig += ideal * ideal
            err += (Double(out[n]) - ideal) * (Double(out[n]) - ideal)
        }
        return 10 * log10(sig / err)
    }

    func testResamplerSNR() {
        let s1k = snr(hz: 1000)
        XCTAssertGreaterThanOrEqual(s1k, 40, "1 kHz: \(s1k) dB")
        XCTAssertGreaterThanOrEqual(snr(hz: 300), 40)
        XCTAssertGreaterThanOrEqual(snr(hz: 3400), 40)
        XCTAssertGreaterThanOrEqual(snr(hz: 6000), 35)
    }

    func testResamplerKeepsDCAndLength() {
        let out = Resampler16To24().process([Int16](repeating: 1000, count: 1600))
        XCTAssertEqual(out.count, 2400)
        for v in out[100..<2300] { XCTAssertEqual(Int(v), 1000, accuracy: 1) }
        XCTAssertEqual(Resampler16To24.outputCount(3), 5)
        XCTAssertEqual(Resampler16To24().process([]), [])
    }

    func testResamplerRejectsNearNyquist() {
        // 7.95 kHz is right at the input's Nyquist edge; its image (8.05 kHz) must not leak.
        let input = (0..<16_000).map { Int16((10000 * sin(2 * Double.pi * 7950 * Double($0) / 16_000)).rounded()) }
        let out = Resampler16To24().process(input)
        let rms = (out[300..<(out.count - 300)].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(out.count - 600))
            .squareRoot()
        XCTAssertLessThan(20 * log10(rms / (10000 / 2.0.squareRoot())), -6, "mostly removed")
    }

    func testEchoAnswerIsTheUserAudio() {
        var o = SimOptions.fast()
        o.answer = .echo
        let h = Harness(options: o)
        h.send(manualUpdate)
        let input = (0..<8000).map { Int16((9000 * sin(2 * Double.pi * 1000 * Double($0) / 16_000)).rounded()) }
        h.append(input)
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        let out = h.outputAudio
        XCTAssertEqual(out, Resampler16To24().process(input))
        XCTAssertEqual(h.events("response.audio.delta").count, 5)
        guard case .audioTranscriptDone(_, let t) = h.events("response.audio_transcript.done")[0].body else {
            return XCTFail()
        }
        XCTAssertEqual(t, "Echo of 0.5 seconds of your audio.")
    }
}
