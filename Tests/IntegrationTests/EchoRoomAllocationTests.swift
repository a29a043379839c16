import CSystemShim
import Foundation
import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The echo reference tap and the simulated room run on the audio thread: counted like the rest
/// of the loop (AudioRTAllocationTests' interposer), on the `file:` backend with `[audio] room`
/// and the reference ring on, over thousands of periods of answers, earcons and flushes.
final class EchoRoomAllocationTests: XCTestCase {
    func testReferenceTapAndRoomAllocateNothing() throws {
        try AudioRTAllocationTests.runProbe("IntegrationTests.EchoRoomAllocationProbe/testProbe")
    }
}

/// The child side (skipped when run by itself).
final class EchoRoomAllocationProbe: XCTestCase {
    func testProbe() throws {
        guard let dir = ProcessInfo.processInfo.environment["OMNI_AUDIO_ALLOC_PROBE"],
              let watchSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omni_alloc_watch"),
              let countSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omni_alloc_count")
        else { throw XCTSkip("not a test by itself: the child process that EchoRoomAllocationTests runs under its malloc interposer") }
        let watch = unsafeBitCast(watchSym, to: AudioRTAllocationProbe.Watch.self)
        let count = unsafeBitCast(countSym, to: AudioRTAllocationProbe.Count.self)

        try OmnidRig.writeWAV("\(dir)/mic.wav", samples: TestSpeech.phrase(seconds: 20, seed: 5))
        var config = OmniConfig().audio
        config.capture = "file:\(dir)/mic.wav"
        config.playback = "file:\(dir)/speaker.wav"
        config.room = try RoomSpec.parse("delay_ms=60,gain_db=-6,rt60_ms=250,noise_db=-70,drift_ppm=50")
        config.rtPriority = 0
        var options = AudioTestSupport.options(configFile: nil, speed: 25)
        options.echoReference = true
        let engine = AudioEngine(config: config, options: options)
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        XCTAssertTrue(AudioTestSupport.wait { engine.status.audioThreadID != nil })
        let tid = Int32(engine.status.audioThreadID ?? 0)
        engine.setCaptureInterest(.polled)
        let tone = AudioTestSupport.tone(ms: 300)
        var buffer = [Int16](repeating: 0, count: 4096)
        var reference = 0
        var round = 0
        func exercise() {
            round += 1
            engine.playEarcon(.listeningStart)
            let played = engine.counters.answerFramesPlayed
            engine.enqueuePlayback(samples24k: tone)
            engine.endOfAnswer()
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.answerFramesPlayed >= played + 4_000 })
            if round % 3 == 0 { engine.flush() }
            _ = engine.readCaptured()
            while true {
                let n = buffer.withUnsafeMutableBufferPointer { engine.readReference(into: $0) }
                reference += n
                if n == 0 { break }
            }
        }
        watch(tid)
        exercise()
        let warmup = count()
        watch(tid)
        let start = engine.counters
        while engine.counters.loopIterations - start.loopIterations < 2_000 { exercise() }
        let allocations = count()
        watch(0)
        let periods = engine.counters.loopIterations - start.loopIterations
        print("ALLOCATION PROBE: \(allocations) allocations on the audio thread in \(periods) periods with the room and "
              + "the reference tap (\(reference) reference samples read); warm-up: \(warmup)")
        XCTAssertGreaterThan(reference, 16_000 * 2, "the reference tap delivered")
        XCTAssertEqual(allocations, 0, "the reference tap or the room allocated on the audio thread")
    }
}
