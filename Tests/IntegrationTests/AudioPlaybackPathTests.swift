import Foundation
import OmniCore
import OmniLinux
import XCTest

/// Playback through real ALSA: answer audio fed as the session would (24 kHz deltas) reaches
/// the file plugin's output complete, in order, without gap or duplicate; drain, flush,
/// underrun, earcons and volume behave as specified.
final class AudioPlaybackPathTests: XCTestCase {
    struct Run {
        let dir: String
        let engine: AudioEngine
        let events: AudioEventLog
        let channels: Int

        func stopAndReadOutput() throws -> [Int16] {
            engine.stop()
            return try AudioTestSupport.readRaw("\(dir)/playback-out.raw")
        }
    }

    func start(playbackRate: Int, channels: Int = 2, configure: (inout OmniConfig.Audio) -> Void = { _ in },
               speed: Double = 4) throws -> Run {
        let dir = try AudioTestSupport.scratchDirectory("playback")
        addTeardownBlock { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 0, count: 48_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: channels)
        var config = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: playbackRate, periodMs: 10)
        configure(&config)
        let events = AudioEventLog()
        let engine = AudioEngine(config: config, options: AudioTestSupport.options(configFile: conf, speed: speed),
                                 onEvent: events.handler)
        try engine.start(waitForDevice: false)
        addTeardownBlock { engine.stop() }
        XCTAssertEqual(engine.status.playback?.rate, playbackRate)
        XCTAssertEqual(engine.status.playback?.channels, channels)
        return Run(dir: dir, engine: engine, events: events, channels: channels)
    }

    /// Feeds `samples` in 100 ms deltas (like response.audio.delta), then ends the answer. The
    /// tests that check an answer sample for sample start the engine with
    /// `AudioTestSupport.holdPlaybackUntilTheEnd`, so no delta can arrive "late": underruns have
    /// their own test.
    func feedAnswer(_ engine: AudioEngine, _ samples: [Int16], deltaSamples: Int = 2_400) {
        var i = 0
        while i < samples.count {
            let end = min(samples.count, i + deltaSamples)
            engine.enqueuePlayback(samples24k: Array(samples[i..<end]))
            i = end
        }
        engine.endOfAnswer()
    }

    /// Checks the channels are identical and returns channel 0.
    func mono(_ interleaved: [Int16], channels: Int) -> [Int16] {
        let left = AudioTestSupport.channel(interleaved, 0, of: channels)
        for c in 1..<channels {
            XCTAssertTrue(AudioTestSupport.channel(interleaved, c, of: channels) == left, "channel \(c) differs from channel 0")
        }
        return left
    }

    /// `expected` must appear exactly once, whole and contiguous, with only silence around it.
    func assertContainsExactly(_ output: [Int16], _ expected: [Int16], file: StaticString = #filePath, line: UInt = #line) {
        guard let firstNonZeroExpected = expected.firstIndex(where: { $0 != 0 }),
              let firstNonZero = output.firstIndex(where: { $0 != 0 })
        else { return XCTFail("no audio in the output", file: file, line: line) }
        let start = firstNonZero - firstNonZeroExpected
        guard start >= 0, start + expected.count <= output.count else {
            return XCTFail("answer truncated: starts at \(start), \(output.count - max(0, start)) of \(expected.count) samples", file: file, line: line)
        }
        let segment = output[start..<(start + expected.count)]
        if let bad = zip(segment, expected).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("answer differs at sample \(bad.offset): \(bad.element.0) ≠ \(bad.element.1)", file: file, line: line)
        }
        XCTAssertTrue(output[(start + expected.count)...].allSatisfy { $0 == 0 }, "only silence after the answer", file: file, line: line)
    }

    func testToneAnswerReachesTheOutputBitExactAt24kHz() throws {
        let run = try start(playbackRate: 24_000, configure: AudioTestSupport.holdPlaybackUntilTheEnd)
        let tone = AudioTestSupport.tone()
        feedAnswer(run.engine, tone)
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained == 1 }, "no playbackDrained: \(run.events.all)")
        let counters = run.engine.counters
        XCTAssertEqual(counters.answerFramesPlayed, tone.count, "every answer sample played once")
        XCTAssertEqual(counters.underruns, 0)
        XCTAssertEqual(counters.playbackXruns, 0)
        let output = mono(try run.stopAndReadOutput(), channels: 2)
        assertContainsExactly(output, tone)
    }

    func testToneAnswerResampledTo48kHzIsCompleteAndClean() throws {
        let run = try start(playbackRate: 48_000, configure: AudioTestSupport.holdPlaybackUntilTheEnd)
        let tone = AudioTestSupport.tone()
        feedAnswer(run.engine, tone)
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained == 1 }, "no playbackDrained: \(run.events.all)")
        XCTAssertEqual(run.engine.counters.underruns, 0)
        let output = mono(try run.stopAndReadOutput(), channels: 2)
        guard let first = output.firstIndex(where: { abs(Int($0)) > 2 }),
              let last = output.lastIndex(where: { abs(Int($0)) > 2 }) else { return XCTFail("silent output") }
        // 1 s at 48 kHz, give or take the filter's ramps.
        XCTAssertEqual(last - first + 1, 48_000, accuracy: 60, "answer length at the device rate")
        // Compare with the ideal 440 Hz tone at 48 kHz, aligned where it fits best (the answer
        // starts at a period boundary of the device stream, found from the first loud sample).
        let ideal = (0..<48_000).map { 8000 * sin(2 * Double.pi * 440 * Double($0) / 48_000) }
        let lo = 480, hi = 48_000 - 480  // skip 10 ms filter transients at each end
        let (start, snr) = ((first - 3)...(first + 1)).map { s in
            (s, AudioTestSupport.snr(output[(s + lo)..<(s + hi)], ideal[lo..<hi]))
        }.max { $0.1 < $1.1 }!
        print("playback 24 kHz → 48 kHz: SNR \(String(format: "%.1f", snr)) dB")
        XCTAssertGreaterThanOrEqual(snr, 40)
        // No gap anywhere: every 5 ms window carries the tone's RMS (8000/√2).
        var window = start + 480
        while window + 240 <= start + 48_000 - 480 {
            var m = LevelMeter()
            m.add(Array(output[window..<(window + 240)]))
            XCTAssertEqual(m.rms, 8000 / 2.0.squareRoot(), accuracy: 300, "window at \(window)")
            window += 240
        }
    }

    func testAnswerShorterThanPrerollStillPlaysWhole() throws {
        let run = try start(playbackRate: 24_000) { $0.prerollMs = 500 }
        let tone = AudioTestSupport.tone(ms: 120)
        feedAnswer(run.engine, tone)
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained == 1 })
        assertContainsExactly(mono(try run.stopAndReadOutput(), channels: 2), tone)
    }

    func testUnderrunMidAnswerPlaysSilenceAndIsCounted() throws {
        let run = try start(playbackRate: 24_000)
        let first = AudioTestSupport.tone(ms: 200)
        run.engine.enqueuePlayback(samples24k: first)
        XCTAssertTrue(AudioTestSupport.wait { run.engine.counters.underruns == 1 }, "no underrun counted")
        XCTAssertTrue(AudioTestSupport.wait { run.events.count { $0 == .underrun(total: 1) } == 1 }, "\(run.events.all)")
        XCTAssertEqual(run.engine.counters.answerFramesPlayed, first.count)
        // The answer resumes after the gap and still drains.
        run.engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 100))
        run.engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained == 1 })
        XCTAssertEqual(run.engine.counters.underruns, 1)
    }

    func testFlushSilencesWithinOnePeriodAndCancelsTheDrain() throws {
        let run = try start(playbackRate: 48_000, speed: 2)
        run.engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 3_000))
        run.engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { run.engine.counters.answerFramesPlayed > 24_000 })
        run.engine.flush()
        XCTAssertTrue(AudioTestSupport.wait { run.engine.counters.flushes == 1 })
        // Counted in the audio thread's periods, so the same on a busy machine.
        XCTAssertLessThanOrEqual(run.engine.counters.lastFlushLatencyPeriods, 1,
                                 "flush applied by the audio thread within one period of the request")
        // Nothing more of that answer is taken (at most the period being built), however many
        // periods go by.
        let atFlush = run.engine.counters.answerFramesPlayed
        XCTAssertTrue(AudioTestSupport.waitForPeriods(run.engine, 20))
        XCTAssertLessThanOrEqual(run.engine.counters.answerFramesPlayed - atFlush, 480)
        XCTAssertEqual(run.engine.queuedPlaybackMs, 0)
        XCTAssertTrue(AudioTestSupport.settleEvents(run.engine, run.events))
        XCTAssertEqual(run.events.drained, 0, "a flushed answer does not report drained: \(run.events.all)")
        // The next answer plays normally, and drains: the only drain of the test.
        run.engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 100))
        run.engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained >= 1 }, "\(run.events.all)")
        XCTAssertTrue(AudioTestSupport.settleEvents(run.engine, run.events))
        XCTAssertEqual(run.events.drained, 1, "\(run.events.all)")
    }

    /// A second answer ended while the first still plays: the drains coalesce into one event,
    /// which comes only after the second answer has played.
    func testBackToBackAnswersDrainAfterTheLastOne() throws {
        // Real time and a 2 s A: B arrives while A still plays unless this thread stalls for
        // seconds (checked, rather than assumed, below).
        let run = try start(playbackRate: 24_000, speed: 1)
        let a = AudioTestSupport.tone(ms: 2_000), b = AudioTestSupport.tone(hz: 660, ms: 600)
        run.engine.enqueuePlayback(samples24k: a)
        run.engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { run.engine.counters.answerFramesPlayed > 0 })
        run.engine.enqueuePlayback(samples24k: b)  // the next answer arrives while A still plays
        run.engine.endOfAnswer()
        XCTAssertLessThan(run.engine.counters.answerFramesPlayed, a.count, "A had ended before B came: not the case under test")
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained >= 1 }, "\(run.events.all)")
        XCTAssertEqual(run.engine.counters.answerFramesPlayed, a.count + b.count, "drained only after B played")
        XCTAssertTrue(AudioTestSupport.settleEvents(run.engine, run.events))
        XCTAssertEqual(run.events.drained, 1, "\(run.events.all)")
        let output = mono(try run.stopAndReadOutput(), channels: 2)
        guard let first = output.firstIndex(where: { $0 != 0 }) else { return XCTFail("silent") }
        XCTAssertTrue(Array(output[(first - 1)..<(first - 1 + a.count)]) == a, "A whole")
        let rest = Array(output[(first - 1 + a.count)...])
        guard let bStart = rest.firstIndex(where: { $0 != 0 }) else { return XCTFail("B missing") }
        XCTAssertTrue(Array(rest[(bStart - 1)..<(bStart - 1 + b.count)]) == b, "B whole, after A")
    }

    func testLongAnswerBeyondTheRingIsQueuedNotDropped() throws {
        // 8 s of answer enqueued at once (more than the 4 s ring at 48 kHz): nothing dropped.
        let run = try start(playbackRate: 24_000, speed: 16)
        let tone = AudioTestSupport.tone(ms: 8_000)
        run.engine.enqueuePlayback(samples24k: tone)
        run.engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained == 1 })
        XCTAssertEqual(run.engine.counters.answerFramesPlayed, tone.count)
        assertContainsExactly(mono(try run.stopAndReadOutput(), channels: 2), tone)
    }

    func testEarconIsMixedAtTheConfiguredLevel() throws {
        let run = try start(playbackRate: 24_000) { $0.earcons = true; $0.earconLevel = 0.25 }
        run.engine.playEarcon(.listeningStart)
        XCTAssertTrue(AudioTestSupport.wait { run.engine.counters.earconsPlayed == 1 })
        // Let it play to its end (the count goes up as it starts), plus the device buffer.
        XCTAssertTrue(AudioTestSupport.waitForPeriods(run.engine, Int(Earcon.durationMs(.listeningStart) / 10) + 8))
        let expected = Earcon.render(.listeningStart, sampleRate: 24_000, level: 0.25)
        assertContainsExactly(mono(try run.stopAndReadOutput(), channels: 2), expected)
    }

    func testEarconsOffPlaysNothing() throws {
        let run = try start(playbackRate: 24_000) { $0.earcons = false }
        run.engine.playEarcon(.error)
        // An earcon starts at the next period; this is long enough for all of it.
        XCTAssertTrue(AudioTestSupport.waitForPeriods(run.engine, Int(Earcon.durationMs(.error) / 10) + 8))
        XCTAssertEqual(run.engine.counters.earconsPlayed, 0)
        XCTAssertTrue(try run.stopAndReadOutput().allSatisfy { $0 == 0 })
    }

    func testSoftwareVolumeFromTheConfig() throws {
        let run = try start(playbackRate: 24_000, channels: 1) {
            AudioTestSupport.holdPlaybackUntilTheEnd(&$0)
            $0.volume = 0.5
        }
        let tone = AudioTestSupport.tone(ms: 300)
        feedAnswer(run.engine, tone)
        XCTAssertTrue(AudioTestSupport.wait { run.events.drained == 1 })
        var expected = tone
        expected.withUnsafeMutableBufferPointer { PCM.applyGain(Gain(linear: 0.5), to: $0.baseAddress!, count: $0.count) }
        assertContainsExactly(try run.stopAndReadOutput(), expected)
        XCTAssertEqual(run.engine.volume, 0.5)
    }
}
