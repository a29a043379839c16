import Foundation
import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A clock-paced (`file:`) audio thread coasts while the user speaks: it sleeps until the
/// period that completes the consumer's next chunk instead of waking every period, and catches
/// up on request before the end of the turn is read (AudioRTClock.swift). The consumer here
/// does what the daemon does (Daemon+Capture.swift): on `.captureReady` it reads everything and
/// asks for the rest of the next 100 ms chunk.
final class AudioCaptureCoastTests: XCTestCase {
    static let chunk = 1600

    /// The microphone: sample n is n (mod 2^15), so any stretch read shows where it came from.
    func writeRamp(_ dir: String, samples: Int) throws {
        let ramp = (0..<samples).map { Int16(truncatingIfNeeded: $0 & 0x7fff) }
        try Data(WAV.encode(WAVAudio(sampleRate: 16_000, channels: 1, samples: ramp)))
            .write(to: URL(fileURLWithPath: "\(dir)/mic.wav"))
    }

    func config(dir: String) -> OmniConfig.Audio {
        var c = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: 24_000, periodMs: 20)
        c.capture = "file:\(dir)/mic.wav"
        c.playback = "file:\(dir)/speaker.wav"
        return c
    }

    /// Voluntary context switches of a thread of this process: one per sleep that blocked.
    func voluntarySwitches(tid: Int) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/task/\(tid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") {
            return Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    func testLiveCaptureWakesOncePerChunkAndCatchesUpAtTheEnd() throws {
        let dir = try AudioTestSupport.scratchDirectory("coast")
        defer { AudioTestSupport.remove(dir) }
        try writeRamp(dir, samples: 16_000 * 30)
        let events = AudioEventLog()
        // Real time: captureClockFrames, the test's own measure of the microphone's clock below,
        // counts real time.
        var options = AudioTestSupport.options(configFile: nil, speed: 1)
        options.alsaConfigFile = nil
        let engine = AudioEngine(config: config(dir: dir), options: options, onEvent: events.handler)
        engine.setCaptureInterest(.idle)
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 10))

        // The press: from now on every chunk, sample for sample.
        engine.discardCaptured()
        var got: [Int16] = []
        var buffer = [Int16](repeating: 0, count: 8192)
        func readAll() {
            while true {
                let n = buffer.withUnsafeMutableBufferPointer { engine.readCaptured(into: $0) }
                if n == 0 { return }
                got += buffer[0..<n]
            }
        }
        func ready() -> Int { events.count { $0 == .captureReady } }
        engine.setCaptureInterest(.wake(afterSamples: Self.chunk))
        guard let tid = engine.status.audioThreadID, let switches0 = voluntarySwitches(tid: tid) else {
            return XCTFail("no audio thread")
        }
        let periods0 = engine.counters.loopIterations
        let chunks = 15
        for _ in 0..<chunks {
            let seen = ready()
            XCTAssertTrue(AudioTestSupport.wait { ready() > seen })
            readAll()
            engine.setCaptureInterest(.wake(afterSamples: Self.chunk - got.count % Self.chunk))
        }
        let periods = engine.counters.loopIterations - periods0
        let switches = (voluntarySwitches(tid: tid) ?? 0) - switches0
        print("live capture: \(chunks) chunks, \(periods) periods, \(switches) audio thread sleeps")
        XCTAssertGreaterThanOrEqual(got.count, chunks * Self.chunk, "every chunk asked for")
        // Period by period would be one sleep per period (5 per chunk); coasting, one per chunk
        // and a few more (a re-arm that lands during a coast kicks it).
        XCTAssertLessThan(switches, periods / 2, "the audio thread slept \(switches) times over \(periods) periods")

        // The end of the turn: once the loop is behind the microphone (coasting), a catch-up
        // brings in every period due, then `.captureReady` says so.
        XCTAssertTrue(AudioTestSupport.wait { engine.captureClockFrames - engine.counters.capturedFrames >= 2 * 320 },
                      "the loop coasts")
        let due = engine.captureClockFrames
        let seen = ready()
        guard let catchUp = engine.catchUpCapture() else { return XCTFail("a coasting loop lags the microphone") }
        XCTAssertTrue(AudioTestSupport.wait { ready() > seen && engine.captureCaughtUp(catchUp.token) })
        XCTAssertGreaterThanOrEqual(engine.counters.capturedFrames, due - 320, "everything due when asked (to a period)")
        // The audio of the moment asked for ends at `end` (to a period of the clock estimate);
        // what the loop read after it stays in the ring when reads are limited there.
        XCTAssertLessThanOrEqual(abs(catchUp.end - due), 320, "end \(catchUp.end), microphone clock \(due)")
        XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 3))
        engine.limitCapture(to: catchUp.end)
        readAll()
        // Ring position p holds the file's sample p (16 kHz mono, read from its start).
        XCTAssertEqual(got.last, Int16(truncatingIfNeeded: (catchUp.end - 1) & 0x7fff), "the read stopped at the end")
        engine.limitCapture(to: nil)

        // Nobody listening again: the loop coasts its idle steps (10 periods).
        engine.setCaptureInterest(.idle)
        let idle0 = (voluntarySwitches(tid: tid) ?? 0, engine.counters.loopIterations)
        XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 40))
        let idleSleeps = (voluntarySwitches(tid: tid) ?? 0) - idle0.0
        let idlePeriods = engine.counters.loopIterations - idle0.1
        print("idle capture: \(idlePeriods) periods, \(idleSleeps) audio thread sleeps")
        XCTAssertLessThan(idleSleeps, idlePeriods / 4, "the audio thread slept \(idleSleeps) times over \(idlePeriods) periods")

        // What was read is one contiguous stretch of the microphone: nothing lost or repeated.
        guard let first = got.first else { return XCTFail("nothing captured") }
        for (i, v) in got.enumerated() where v != Int16(truncatingIfNeeded: (Int(first) + i) & 0x7fff) {
            return XCTFail("sample \(i) is \(v), expected \((Int(first) + i) & 0x7fff)")
        }
    }

    /// A catch-up asked for while the ring is current (the loop runs period by period, e.g.
    /// while something plays) returns nil: nothing to wait for.
    func testCatchUpIsNotNeededWhenTheLoopRunsPeriodByPeriod() throws {
        let dir = try AudioTestSupport.scratchDirectory("coast-busy")
        defer { AudioTestSupport.remove(dir) }
        try writeRamp(dir, samples: 16_000 * 10)
        var options = AudioTestSupport.options(configFile: nil, speed: 2)
        options.alsaConfigFile = nil
        var config = config(dir: dir)
        AudioTestSupport.holdPlaybackUntilTheEnd(&config)
        let engine = AudioEngine(config: config, options: options)
        engine.setCaptureInterest(.wake(afterSamples: Self.chunk))
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        // Answer audio in the ring keeps the loop from coasting.
        engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 2000))
        XCTAssertTrue(AudioTestSupport.waitForPeriods(engine, 5))
        XCTAssertNil(engine.catchUpCapture())
    }
}
