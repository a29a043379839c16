import Foundation
import OmniCore
import OmniLinux
import XCTest

/// A flush (barge-in) fades the answer out instead of cutting it (AudioRTLoop+Fade.swift),
/// checked on what the `file:` speaker wrote: after the flush no sample-to-sample step is larger
/// than the answer's own steps plus what a 10 ms linear ramp adds, and the speaker is silent
/// within one period plus 10 ms of the request.
final class AudioFlushFadeTests: XCTestCase {
    static let rate = 48_000
    static let periodMs = 10

    /// A 200 Hz tone riding on a DC offset: every sample is between 2000 and 14000, so cutting it
    /// anywhere is a step of at least 2000, while its own steps stay under 160.
    static func answer(ms: Int) -> [Int16] {
        (0..<(ms * 24)).map { n in Int16(8000 + 6000 * sin(2 * Double.pi * 200 * Double(n) / 24_000)) }
    }

    func run(flushes: Int, delaysBeforeFlush: [useconds_t] = [0]) throws -> (out: [Int16], at: [Int]) {
        let dir = try AudioTestSupport.scratchDirectory("fade")
        addTeardownBlock { AudioTestSupport.remove(dir) }
        try Data(WAV.encode(WAVAudio(sampleRate: 16_000, channels: 1, samples: [Int16](repeating: 0, count: 1600))))
            .write(to: URL(fileURLWithPath: "\(dir)/mic.wav"))
        var config = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: Self.rate, periodMs: Self.periodMs)
        config.capture = "file:\(dir)/mic.wav"
        config.playback = "file:\(dir)/speaker.wav"
        var options = AudioTestSupport.options(configFile: nil, speed: 2)
        options.alsaConfigFile = nil
        let events = AudioEventLog()
        let engine = AudioEngine(config: config, options: options, onEvent: events.handler)
        try engine.start(waitForDevice: false)
        addTeardownBlock { engine.stop() }
        var at: [Int] = []
        for i in 0..<flushes {
            let played = engine.counters.answerFramesPlayed
            engine.enqueuePlayback(samples24k: Self.answer(ms: 2_000))
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.answerFramesPlayed > played + 24_000 })
            // Asked at different moments of the period and of a sleep on audio written ahead (the
            // `file:` speaker): where the speaker is must come from the clock, not from where the
            // loop last looked (a flush 7 ms after it read as a period late, 45 ms as 9 periods).
            usleep(delaysBeforeFlush[i % delaysBeforeFlush.count])
            engine.flush()
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.flushes == i + 1 })
            XCTAssertLessThanOrEqual(engine.counters.lastFlushLatencyPeriods, 1, "the flush is seen within a period")
            at.append(engine.counters.lastFlushRequestedAtFrame)
            XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 10))
        }
        engine.stop()
        let wav = try WAV.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/speaker.wav"))))
        XCTAssertEqual(wav.sampleRate, Self.rate)
        return (wav.samples, at)
    }

    func testFlushFadesOutWithoutAStepAndIsSilentWithinAPeriodAndTenMilliseconds() throws {
        let (out, at) = try run(flushes: 3, delaysBeforeFlush: [0, 7_000, 45_000])
        let period = Self.rate * Self.periodMs / 1000
        let fade = Self.rate / 100
        for request in at {
            // The answer's own largest step just before the request, and its level there.
            let before = out[(request - 4 * period)..<request]
            XCTAssertGreaterThan(before.min()!, 1500, "the answer is playing when the flush comes")
            let ownStep = zip(before, before.dropFirst()).map { abs(Int($1) - Int($0)) }.max()!
            let peak = Int(before.max()!)
            // From the last sample before the request on: no step beyond the answer's own plus
            // the ramp's peak/L.
            let after = out[(request - 1)..<min(out.count, request + 3 * period)]
            let steps = zip(after, after.dropFirst()).map { abs(Int($1) - Int($0)) }
            let allowed = ownStep + peak / fade + 2
            XCTAssertLessThanOrEqual(steps.max()!, allowed,
                                     "a step of \(steps.max()!) after the flush (allowed \(allowed)): a click")
            // Silent within one period plus the fade, and it did not just stop at the request.
            let lastSound = after.lastIndex { $0 != 0 } ?? request
            XCTAssertLessThan(lastSound, request + period + fade,
                              "sound \(lastSound - request) frames after the request (at most \(period + fade))")
            XCTAssertTrue(out[(request + period + fade)..<(request + 3 * period)].allSatisfy { $0 == 0 })
        }
    }
}
