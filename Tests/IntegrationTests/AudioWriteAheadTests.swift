import Foundation
import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A `file:` speaker is written ahead once the rest of the answer is known, and the audio
/// thread sleeps while it plays (AudioRTLoop+Ahead.swift). Everything a listener can observe
/// stays as the per-period loop has it: the answer at its own place in the file, the echo
/// reference in step with the microphone, a flush fading out from the sample playing, an earcon
/// starting at the next period with the answer intact under it.
final class AudioWriteAheadTests: XCTestCase {
    static let period = 480  // 20 ms at 24 kHz

    /// A 200 Hz tone on a DC offset (every sample 2000…14000): nowhere zero, so where it is in
    /// the file shows exactly.
    static func answer(ms: Int) -> [Int16] {
        (0..<(ms * 24)).map { n in Int16(8000 + 6000 * sin(2 * Double.pi * 200 * Double(n) / 24_000)) }
    }

    /// A started engine on a `file:` microphone (silence) and speaker in a new scratch
    /// directory; stopped and removed when the test ends.
    func startedEngine(_ name: String, earcons: Bool = false, reference: Bool = false,
                       captureInterest: CaptureInterest? = nil) throws -> (dir: String, events: AudioEventLog, engine: AudioEngine) {
        let dir = try AudioTestSupport.scratchDirectory(name)
        addTeardownBlock { AudioTestSupport.remove(dir) }
        let events = AudioEventLog()
        try Data(WAV.encode(WAVAudio(sampleRate: 16_000, channels: 1, samples: [Int16](repeating: 0, count: 1600))))
            .write(to: URL(fileURLWithPath: "\(dir)/mic.wav"))
        var config = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: 24_000, periodMs: 20)
        config.capture = "file:\(dir)/mic.wav"
        config.playback = "file:\(dir)/speaker.wav"
        config.earcons = earcons
        var options = AudioTestSupport.options(configFile: nil, speed: 2)
        options.alsaConfigFile = nil
        options.echoReference = reference
        let engine = AudioEngine(config: config, options: options, onEvent: events.handler)
        if let captureInterest { engine.setCaptureInterest(captureInterest) }
        try engine.start(waitForDevice: false)
        addTeardownBlock { engine.stop() }
        return (dir, events, engine)
    }

    func speaker(_ dir: String) throws -> [Int16] {
        try WAV.decode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/speaker.wav")))).samples
    }

    func voluntarySwitches(tid: Int) -> Int {
        let text = (try? String(contentsOfFile: "/proc/self/task/\(tid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") {
            return Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// The whole answer queued with its end: the loop sleeps through most of it, the file holds
    /// it whole and in order, the echo reference never runs ahead of the microphone.
    func testAWholeAnswerPlaysWithFewWakeUpsAndTheReferenceInStep() throws {
        let (dir, events, engine) = try startedEngine("ahead", reference: true, captureInterest: .idle)
        XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 5))
        let tid = try XCTUnwrap(engine.status.audioThreadID)
        let tone = Self.answer(ms: 2_000)
        _ = engine.readCaptured()
        var scratch = [Int16](repeating: 0, count: 8192)
        while scratch.withUnsafeMutableBufferPointer({ engine.readReference(into: $0) }) > 0 {}
        let sleeps0 = voluntarySwitches(tid: tid), periods0 = engine.counters.loopIterations
        engine.enqueuePlayback(samples24k: tone)
        engine.endOfAnswer()
        var mic = 0, ref = 0, worst = 0, sawAhead = false
        XCTAssertTrue(AudioTestSupport.wait {
            sawAhead = sawAhead || engine.counters.playbackAheadFrames >= 5 * Self.period
            // Microphone and reference, both at 16 kHz: the reference read between two reads of
            // the microphone lies between them, give or take a period or two, never the periods
            // written ahead. (Bracketed, so that this thread being preempted between two reads
            // on a loaded machine widens the bracket instead of failing the test.)
            mic += scratch.withUnsafeMutableBufferPointer { engine.readCaptured(into: $0) }
            let micBefore = mic
            ref += scratch.withUnsafeMutableBufferPointer { engine.readReference(into: $0) }
            mic += scratch.withUnsafeMutableBufferPointer { engine.readCaptured(into: $0) }
            worst = max(worst, micBefore - ref, ref - mic)
            return events.drained == 1
        })
        let sleeps = voluntarySwitches(tid: tid) - sleeps0, periods = engine.counters.loopIterations - periods0
        print("whole answer: \(periods) periods, \(sleeps) audio thread sleeps; reference outside the microphone's bracket by at most \(worst) samples")
        XCTAssertTrue(sawAhead, "the speaker was written ahead")
        XCTAssertLessThan(sleeps, periods / 3, "the audio thread slept \(sleeps) times over \(periods) periods")
        XCTAssertLessThanOrEqual(worst, 2 * 320, "the reference ran \(worst) samples ahead of or behind the microphone")
        engine.stop()
        let out = try speaker(dir)
        let start = try XCTUnwrap(out.firstIndex { $0 != 0 })
        XCTAssertTrue(Array(out[start..<(start + tone.count)]) == tone, "the answer, whole and in order")
        XCTAssertTrue(out[(start + tone.count)...].allSatisfy { $0 == 0 })
    }

    /// A flush while the speaker holds audio written ahead: taken back, and the fade starts at
    /// the sample playing, silent within a period and 10 ms, nothing of the rest left in the file.
    func testFlushTakesBackWhatWasWrittenAheadAndFadesFromThePlayingSample() throws {
        let (dir, _, engine) = try startedEngine("ahead-flush")
        engine.enqueuePlayback(samples24k: Self.answer(ms: 3_000))
        engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait {
            engine.counters.answerFramesPlayed > 24_000 && engine.counters.playbackAheadFrames >= 5 * Self.period
        })
        engine.flush()
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.flushes == 1 })
        XCTAssertLessThanOrEqual(engine.counters.lastFlushLatencyPeriods, 1, "the flush is seen within a period")
        let request = engine.counters.lastFlushRequestedAtFrame
        XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 20))
        engine.stop()
        let out = try speaker(dir)
        let fade = 240
        let before = out[(request - 4 * Self.period)..<request]
        XCTAssertGreaterThan(before.min()!, 1500, "the answer is playing when the flush comes")
        let ownStep = zip(before, before.dropFirst()).map { abs(Int($1) - Int($0)) }.max()!
        let after = out[(request - 1)..<min(out.count, request + 3 * Self.period)]
        let steps = zip(after, after.dropFirst()).map { abs(Int($1) - Int($0)) }
        XCTAssertLessThanOrEqual(steps.max()!, ownStep + Int(before.max()!) / fade + 2, "a click after the flush")
        let lastSound = out.lastIndex { $0 != 0 } ?? 0
        XCTAssertLessThan(lastSound, request + Self.period + fade,
                          "sound \(lastSound - request) frames after the request (at most \(Self.period + fade))")
        XCTAssertGreaterThanOrEqual(out.count, request + 15 * Self.period, "the speaker went on (silence)")
    }

    /// An earcon while the speaker holds audio written ahead starts at the next period (the
    /// ahead part is built again with it), and the answer under and after it is intact.
    func testEarconDuringAnAnswerWrittenAheadStartsAtTheNextPeriod() throws {
        let (dir, events, engine) = try startedEngine("ahead-earcon", earcons: true)
        let tone = Self.answer(ms: 3_000)
        engine.enqueuePlayback(samples24k: tone)
        engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait {
            engine.counters.answerFramesPlayed > 24_000 && engine.counters.playbackAheadFrames >= 5 * Self.period
        })
        let c = engine.counters
        let playing = c.playbackFramesWritten - c.playbackAheadFrames
        engine.playEarcon(.error)
        XCTAssertTrue(AudioTestSupport.wait { events.drained == 1 })
        engine.stop()
        let out = try speaker(dir)
        let start = try XCTUnwrap(out.firstIndex { $0 != 0 })
        let differs = (start..<(start + tone.count)).filter { out[$0] != tone[$0 - start] }
        let first = try XCTUnwrap(differs.first, "the earcon is in the file")
        XCTAssertGreaterThanOrEqual(first, playing - Self.period, "the earcon starts \(playing - first) frames early")
        XCTAssertLessThanOrEqual(first, playing + 2 * Self.period, "the earcon starts \(first - playing) frames late")
        // Under and after the earcon the answer goes on sample for sample (built again from the
        // fade history): nothing differs once the earcon is over.
        let earconFrames = Earcon.render(.error, sampleRate: 24_000, level: OmniConfig().audio.earconLevel).count
        XCTAssertLessThanOrEqual(differs.last!, first + earconFrames, "the answer differs after the earcon")
    }

    /// Answer audio streamed without its end is written ahead only as far as the ring holds
    /// whole periods: when it runs dry the underrun comes at the same period as without
    /// write-ahead, and what comes later plays whole after the gap.
    func testAnAnswerStillArrivingIsWrittenAheadOnlyAsFarAsItIsThere() throws {
        let (dir, events, engine) = try startedEngine("ahead-underrun")
        let first = Self.answer(ms: 500), second = Array(Self.answer(ms: 900)[12_000...])
        engine.enqueuePlayback(samples24k: first)
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.underruns == 1 }, "the ring ran dry")
        XCTAssertEqual(engine.counters.answerFramesPlayed, first.count, "all of it played, nothing more")
        engine.enqueuePlayback(samples24k: second)
        engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { events.drained == 1 })
        XCTAssertEqual(engine.counters.underruns, 1)
        engine.stop()
        let out = try speaker(dir)
        let a = try XCTUnwrap(out.firstIndex { $0 != 0 })
        XCTAssertTrue(Array(out[a..<(a + first.count)]) == first, "the first part, whole")
        XCTAssertEqual(a % Self.period, 0, "it starts on a period")
        // The underrun ends its period with silence; the rest starts on a later period, whole.
        let b = try XCTUnwrap(out[(a + first.count)...].firstIndex { $0 != 0 })
        XCTAssertEqual(b % Self.period, 0, "the rest starts on a period")
        XCTAssertTrue(Array(out[b..<(b + second.count)]) == second, "the rest, whole")
        XCTAssertTrue(out[(b + second.count)...].allSatisfy { $0 == 0 })
    }
}
