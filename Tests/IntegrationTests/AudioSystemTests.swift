import Foundation
import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Real-time scheduling, device listing and `test-audio`.
final class AudioSystemTests: XCTestCase {
    func testAudioThreadRunsSchedFifoWhenPermitted() throws {
        let dir = try AudioTestSupport.scratchDirectory("fifo")
        defer { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 0, count: 16_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 1)
        var config = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: 16_000, periodMs: 20)
        config.rtPriority = 10  // low: this box is shared; the loop is paced and sleeps
        let engine = AudioEngine(config: config, options: AudioTestSupport.options(configFile: conf, speed: 1))
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        XCTAssertTrue(AudioTestSupport.wait { engine.status.audioThreadID != nil })
        let tid = try XCTUnwrap(engine.status.audioThreadID)
        let policy = sched_getscheduler(pid_t(tid))
        var param = sched_param()
        sched_getparam(pid_t(tid), &param)
        if engine.status.realtimePriority == nil {
            // Not permitted here (no CAP_SYS_NICE): the engine must say so and run normally.
            XCTAssertEqual(policy, SCHED_OTHER)
            throw XCTSkip("SCHED_FIFO not permitted in this environment; normal priority verified")
        }
        XCTAssertEqual(policy, SCHED_FIFO)
        XCTAssertEqual(param.sched_priority, 10)
        XCTAssertEqual(engine.status.realtimePriority, 10)
        let comm = try String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)
        XCTAssertEqual(comm.trimmingCharacters(in: .whitespacesAndNewlines), "omni-audio")
    }

    func testDeviceListingIsPrintable() {
        let report = AudioDevices.scan()
        let text = report.description
        XCTAssertFalse(text.isEmpty)
        if report.cards.isEmpty { XCTAssertTrue(text.contains("No ALSA sound cards")) }
        // The stock configuration always names these.
        XCTAssertTrue(report.named.contains { $0.name == "null" }, text)
        print(text)
    }

    func testSelfTestRecordsMeasuresAndPlaysBack() throws {
        let dir = try AudioTestSupport.scratchDirectory("selftest")
        defer { AudioTestSupport.remove(dir) }
        // −12 dBFS peak sine: RMS −15 dBFS.
        let input = (0..<(48_000 * 2)).map { PCM.clampToInt16(8192 * sin(2 * Double.pi * 1000 * Double($0) / 48_000)) }
        try AudioTestSupport.writeRaw(input, to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2)
        let config = AudioTestSupport.audioConfig(captureRate: 48_000, playbackRate: 48_000, periodMs: 20)
        let result = try AudioSelfTest.run(config: config, seconds: 1, options: AudioTestSupport.options(configFile: conf, speed: 8))
        print(result)
        XCTAssertEqual(result.samples, 16_000)
        XCTAssertEqual(result.peakDBFS, -12.04, accuracy: 0.3)
        XCTAssertEqual(result.rmsDBFS, -15.05, accuracy: 0.3)
        XCTAssertEqual(result.clippedSamples, 0)
        XCTAssertTrue(result.playedBack)
        XCTAssertGreaterThanOrEqual(result.counters.answerFramesPlayed, 47_000, "the recording went back out")
        let output = try AudioTestSupport.readRaw("\(dir)/playback-out.raw")
        var meter = LevelMeter()
        meter.add(output)
        XCTAssertEqual(meter.peakDBFS, -12.04, accuracy: 0.5, "played back at the recorded level")
        XCTAssertTrue(result.description.contains("peak"))
    }
}

final class AudioLifecycleTests: XCTestCase {
    func testMemoryIsLockedWhileRunningAndTheEngineRestarts() throws {
        try Sanitizers.skipUnderAddressSanitizer("its shadow memory is reserved, not locked, so VmLck says nothing")
        let dir = try AudioTestSupport.scratchDirectory("lifecycle")
        defer { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 0, count: 32_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 1)
        let config = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: 16_000, periodMs: 20)
        var options = AudioTestSupport.options(configFile: conf, speed: 4)
        options.lockMemory = true
        let events = AudioEventLog()
        let engine = AudioEngine(config: config, options: options, onEvent: events.handler)
        for round in 1...2 {
            try engine.start(waitForDevice: false)
            let status = engine.status
            XCTAssertTrue(status.running)
            XCTAssertTrue(status.devicesOpen)
            print("round \(round): memory locked \(status.memoryLocked)")
            if status.memoryLocked {
                let proc = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
                let line = proc.split(separator: "\n").first { $0.hasPrefix("VmLck:") } ?? ""
                XCTAssertFalse(line.contains(" 0 kB"), "locked memory while running: \(line)")
            }
            let frames = engine.counters.capturedFrames
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.capturedFrames > frames + 1_600 }, "round \(round)")
            engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 50))
            engine.endOfAnswer()
            XCTAssertTrue(AudioTestSupport.wait { events.drained == round }, "round \(round): \(events.all)")
            engine.stop()
            XCTAssertFalse(engine.status.running)
            XCTAssertFalse(engine.status.devicesOpen)
            XCTAssertFalse(engine.status.memoryLocked)
        }
        engine.stop()  // idempotent
    }
}
