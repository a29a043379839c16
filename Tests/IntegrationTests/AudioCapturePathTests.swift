import Foundation
import OmniCore
import OmniLinux
import XCTest

/// Capture through real ALSA: a known signal in the file plugin's `infile` reaches the
/// controller as 16 kHz mono, compared with the ideal (analytically resampled) signal.
final class AudioCapturePathTests: XCTestCase {
    /// The "speech": three tones (A), plus a tone that is + on the left and − on the right (B),
    /// so only a correct channel average gives back A.
    static func a(_ t: Double) -> Double {
        6000 * sin(2 * .pi * 440 * t) + 4000 * sin(2 * .pi * 1700 * t + 0.3) + 2500 * sin(2 * .pi * 3100 * t + 1.1)
    }
    static func b(_ t: Double) -> Double { 3000 * sin(2 * .pi * 2500 * t + 0.7) }

    /// Plays `seconds` of the signal (then `padSeconds` of silence) through the file plugin's
    /// infile and collects what the engine delivers at 16 kHz until the device has delivered
    /// all of it. Past the end of its infile the plugin keeps returning whole periods of stale
    /// buffer (it has no EOF), hence the silent pad and counting frames.
    func runCapture(rate: Int, channels: Int, seconds: Double, padSeconds: Double = 0.5, periodMs: Int)
        throws -> (captured: [Int16], counters: AudioCounters, format: AudioDeviceFormat?)
    {
        let dir = try AudioTestSupport.scratchDirectory("capture")
        defer { AudioTestSupport.remove(dir) }
        let frames = Int(seconds * Double(rate))
        let padFrames = Int(padSeconds * Double(rate))
        var input: [Int16] = []
        input.reserveCapacity((frames + padFrames) * channels)
        for n in 0..<frames {
            let t = Double(n) / Double(rate)
            if channels == 1 {
                input.append(PCM.clampToInt16(Self.a(t)))
            } else {
                input.append(PCM.clampToInt16(Self.a(t) + Self.b(t)))
                input.append(PCM.clampToInt16(Self.a(t) - Self.b(t)))
                for _ in 2..<channels { input.append(PCM.clampToInt16(Self.a(t))) }
            }
        }
        input += [Int16](repeating: 0, count: padFrames * channels)
        try AudioTestSupport.writeRaw(input, to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: channels, playbackChannels: 2)

        let config = AudioTestSupport.audioConfig(captureRate: rate, playbackRate: 48_000, periodMs: periodMs)
        let engine = AudioEngine(config: config, options: AudioTestSupport.options(configFile: conf, speed: 8))
        try engine.start(waitForDevice: false)
        let format = engine.status.capture
        var captured: [Int16] = []
        let complete = AudioTestSupport.wait {
            captured += engine.readCaptured()
            return engine.counters.capturedFrames >= frames + padFrames
        }
        XCTAssertTrue(complete, "the device delivered \(engine.counters.capturedFrames) of \(frames + padFrames) frames")
        captured += engine.readCaptured()
        let counters = engine.counters
        engine.stop()
        return (captured, counters, format)
    }

    func check(rate: Int, channels: Int, periodMs: Int) throws {
        let seconds = 2.0
        let (captured, counters, format) = try runCapture(rate: rate, channels: channels, seconds: seconds, periodMs: periodMs)
        XCTAssertEqual(format?.rate, rate, "opened at the configured rate")
        XCTAssertEqual(format?.channels, channels, "the device's channel count")
        XCTAssertEqual(format?.backend, .alsa)
        XCTAssertEqual(counters.captureOverflowFrames, 0)
        XCTAssertEqual(counters.captureXruns, 0)

        // 16 kHz out, aligned: sample n is the signal at n / 16000 s.
        let expected = Int(seconds * 16_000)
        XCTAssertGreaterThanOrEqual(captured.count, expected + 4_000, "the signal and most of the pad")
        guard captured.count >= expected + 4_000 else { return }

        // Compare with A sampled at 16 kHz, away from the start/end filter transients.
        let lo = 320, hi = expected - 320
        let reference = (lo..<hi).map { Self.a(Double($0) / 16_000) }
        let snr = AudioTestSupport.snr(captured[lo..<hi], reference[...])
        print("capture \(rate) Hz \(channels) ch → 16 kHz: SNR \(String(format: "%.1f", snr)) dB over \(hi - lo) samples")
        XCTAssertGreaterThanOrEqual(snr, 40, "SNR against the ideal resampling")

        // Nothing lost, nothing repeated: the signal ends where it should and silence follows.
        var tail = LevelMeter()
        tail.add(Array(captured[(expected + 320)..<(expected + 4_000)]))
        XCTAssertLessThan(tail.peak, 40, "after the signal: silence (no repeated audio)")
        var end = LevelMeter()
        end.add(Array(captured[(expected - 640)..<(expected - 320)]))
        XCTAssertGreaterThan(end.rms, 3_000, "the signal lasts to its end (nothing dropped)")
    }

    func testStereo44100CaptureReaches16kHzMonoWithHighSNR() throws {
        try check(rate: 44_100, channels: 2, periodMs: 10)
    }

    func testMono48000CaptureReaches16kHzMonoWithHighSNR() throws {
        try check(rate: 48_000, channels: 1, periodMs: 20)
    }

    func testNative16kHzCaptureIsBitExact() throws {
        let (captured, _, _) = try runCapture(rate: 16_000, channels: 1, seconds: 0.5, periodMs: 20)
        let expected = (0..<8_000).map { PCM.clampToInt16(Self.a(Double($0) / 16_000)) } + [Int16](repeating: 0, count: 8_000)
        XCTAssertGreaterThanOrEqual(captured.count, expected.count)
        let got = Array(captured.prefix(expected.count))
        let mismatch = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }
        XCTAssertNil(mismatch.map { "first difference at sample \($0.offset): \($0.element.0) ≠ \($0.element.1)" },
                     "no conversion: samples pass unchanged, in order, none lost or repeated")
    }
}
