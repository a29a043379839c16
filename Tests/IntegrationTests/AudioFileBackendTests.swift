import Foundation
import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The `file:` backend (virtual board, demo, benchmarks): a WAV file as the microphone, a WAV
/// file as the speaker, both paced by a clock.
final class AudioFileBackendTests: XCTestCase {
    func config(dir: String) -> OmniConfig.Audio {
        var c = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: 24_000, periodMs: 20)
        c.capture = "file:\(dir)/mic.wav"
        c.playback = "file:\(dir)/speaker.wav"
        return c
    }

    func testWavInWavOutAtAnyRate() throws {
        let dir = try AudioTestSupport.scratchDirectory("file")
        defer { AudioTestSupport.remove(dir) }
        // The microphone file: 0.5 s of stereo 48 kHz (converted like a real device's audio).
        let frames = 24_000
        var stereo: [Int16] = []
        for n in 0..<frames {
            let v = PCM.clampToInt16(9000 * sin(2 * Double.pi * 500 * Double(n) / 48_000))
            stereo += [v, v]
        }
        try Data(WAV.encode(WAVAudio(sampleRate: 48_000, channels: 2, samples: stereo)))
            .write(to: URL(fileURLWithPath: "\(dir)/mic.wav"))

        let events = AudioEventLog()
        var options = AudioTestSupport.options(configFile: nil, speed: 4)
        options.alsaConfigFile = nil
        let engine = AudioEngine(config: config(dir: dir), options: options, onEvent: events.handler)
        try engine.start(waitForDevice: false)
        XCTAssertEqual(engine.status.capture?.backend, .file)
        XCTAssertEqual(engine.status.capture?.rate, 48_000)
        XCTAssertEqual(engine.status.capture?.channels, 2)
        XCTAssertEqual(engine.status.playback?.rate, 24_000)

        var captured: [Int16] = []
        XCTAssertTrue(AudioTestSupport.wait {
            captured += engine.readCaptured()
            return captured.count >= 8_000 + 3_200
        })
        // 0.5 s of the tone at 16 kHz, then silence ("silence after the input ends").
        let reference = (160..<7_840).map { 9000 * sin(2 * Double.pi * 500 * Double($0) / 16_000) }
        let snr = AudioTestSupport.snr(captured[160..<7_840], reference[...])
        XCTAssertGreaterThan(snr, 40)
        XCTAssertTrue(captured[8_200..<11_200].allSatisfy { abs(Int($0)) < 20 }, "silence after the file ends")

        let tone = AudioTestSupport.tone(ms: 400)
        engine.enqueuePlayback(samples24k: tone)
        engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { events.drained == 1 })
        engine.stop()

        let out = try WAV.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/speaker.wav"))))
        XCTAssertEqual(out.sampleRate, 24_000)
        XCTAssertEqual(out.channels, 1)
        guard let first = out.samples.firstIndex(where: { $0 != 0 }) else { return XCTFail("silent speaker file") }
        let start = first - 1  // the tone's sample 0 is 0
        XCTAssertTrue(Array(out.samples[start..<(start + tone.count)]) == tone, "the answer, whole and in order")
        XCTAssertTrue(out.samples[(start + tone.count)...].allSatisfy { $0 == 0 })
        // The written file covers the session's duration: paced, not dumped at once.
        XCTAssertGreaterThan(out.samples.count, 24_000 / 2)
    }

    /// A file has no clock: the backend hands its audio out at the audio thread's pace, never
    /// faster than real time (not the whole file at once). Only that direction is asserted: a
    /// busy machine can make the thread late, never early. How closely it keeps to real time is
    /// what bench/run.sh's conversation runs on (its timeline checks fail otherwise).
    func testCaptureIsNeverFasterThanRealTime() throws {
        let dir = try AudioTestSupport.scratchDirectory("file-rt")
        defer { AudioTestSupport.remove(dir) }
        try Data(WAV.encode(WAVAudio(sampleRate: 16_000, channels: 1, samples: [Int16](repeating: 1_000, count: 160_000))))
            .write(to: URL(fileURLWithPath: "\(dir)/mic.wav"))
        var options = AudioEngine.Options()
        options.lockMemory = false
        let engine = AudioEngine(config: config(dir: dir), options: options)
        let clock = SystemMonotonicClock()
        let started = clock.now()
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        // 0.5 s of the 10 s file (25 periods of 20 ms) …
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.capturedFrames >= 8_000 })
        let elapsed = clock.now() - started
        // … took at least the 24 period boundaries after the first period (read at once).
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(24 * 20), "captured \(engine.counters.capturedFrames) frames in \(elapsed)")
    }

    func testMissingOrBrokenFileIsAnOpenError() throws {
        let dir = try AudioTestSupport.scratchDirectory("file-bad")
        defer { AudioTestSupport.remove(dir) }
        let engine = AudioEngine(config: config(dir: dir), options: AudioTestSupport.options(configFile: nil))
        XCTAssertThrowsError(try engine.start(waitForDevice: false)) { XCTAssertTrue("\($0)".contains("mic.wav"), "\($0)") }
        try "not a wav".write(toFile: "\(dir)/mic.wav", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try engine.start(waitForDevice: false)) { XCTAssertTrue("\($0)".contains("RIFF"), "\($0)") }
    }
}
