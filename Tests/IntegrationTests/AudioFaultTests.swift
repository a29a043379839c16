import Foundation
import OmniCore
import OmniLinux
import OmniSystem
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Faults through real ALSA PCMs. The error codes are injected at the point where the audio
/// thread reads the device (the file/null plugins never fail by themselves); recovery and
/// reopening then run against the real handles and the real ALSA configuration.
final class AudioFaultTests: XCTestCase {
    func makeEngine(dir: String, conf: String, events: AudioEventLog) -> AudioEngine {
        makeEngine(conf: conf, loop: nil, onEvent: events.handler)
    }

    func makeEngine(conf: String, loop: EventLoop?, onEvent: @escaping @Sendable (AudioEvent) -> Void) -> AudioEngine {
        var config = AudioTestSupport.audioConfig(captureRate: 16_000, playbackRate: 24_000, periodMs: 10)
        config.earcons = false
        var options = AudioTestSupport.options(configFile: conf, speed: 4)
        options.eventLoop = loop
        return AudioEngine(config: config, options: options, onEvent: onEvent)
    }

    func testXrunsAreRecoveredCountedAndReportedOutsideTheAudioThread() throws {
        let dir = try AudioTestSupport.scratchDirectory("xrun")
        defer { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 100, count: 160_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2)
        let events = AudioEventLog()
        let engine = makeEngine(dir: dir, conf: conf, events: events)
        try engine.start(waitForDevice: false)
        defer { engine.stop() }

        engine._injectDeviceError(.capture, errno: EPIPE)
        XCTAssertTrue(AudioTestSupport.wait { events.count { $0 == .xrun(direction: .capture, total: 1) } == 1 }, "\(events.all)")
        engine._injectDeviceError(.playback, errno: EPIPE)
        XCTAssertTrue(AudioTestSupport.wait { events.count { $0 == .xrun(direction: .playback, total: 1) } == 1 }, "\(events.all)")
        engine._injectDeviceError(.capture, errno: ESTRPIPE)
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.captureXruns == 2 })

        // Audio keeps flowing after recovery, the devices were not reopened.
        let frames = engine.counters.capturedFrames
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.capturedFrames > frames + 1_600 })
        let c = engine.counters
        XCTAssertEqual(c.playbackXruns, 1)
        XCTAssertEqual(c.deviceLosses, 0)
        XCTAssertEqual(c.reopenings, 0)
        XCTAssertTrue(engine.status.devicesOpen)
    }

    func testUnpluggedDeviceIsReopenedWhenItReturnsWithoutRestartingTheEngine() throws {
        try unplugAndReplug(loop: nil)
    }

    /// The same with the monitor's work on an event loop (the daemon's controller loop): the
    /// loop watches the engine's eventfd, the events come on its thread, the reopen attempts
    /// are its timers.
    func testUnpluggedDeviceIsReopenedWithTheMonitorOnAnEventLoop() throws {
        let loop = try EventLoop(name: "test.audioloop")
        defer { loop.stop() }
        try unplugAndReplug(loop: loop)
    }

    func unplugAndReplug(loop: EventLoop?) throws {
        let dir = try AudioTestSupport.scratchDirectory("unplug")
        defer { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 100, count: 480_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2)
        let offLoop = Mutex(0)
        let events = AudioEventLog()
        let engine = makeEngine(conf: conf, loop: loop) { e in
            if let loop, !loop.isCurrent { offLoop.withLock { $0 += 1 } }
            events.add(e)
        }
        defer { XCTAssertEqual(offLoop.withLock { $0 }, 0, "events off the loop's thread") }
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.capturedFrames > 1_600 })

        // An answer is draining when the device goes: the drain must not hang.
        engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 5_000))
        engine.endOfAnswer()

        // "Unplug": the device disappears from the configuration and the next read fails.
        try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2, includeCapture: false)
        engine._injectDeviceError(.capture, errno: ENODEV)
        XCTAssertTrue(AudioTestSupport.wait { events.count { if case .deviceLost(.capture, _) = $0 { true } else { false } } == 1 },
                      "\(events.all)")
        XCTAssertTrue(AudioTestSupport.wait { events.drained == 1 }, "pending drain completed on loss")
        XCTAssertFalse(engine.status.devicesOpen)
        // Still gone: reopen attempts keep failing, the engine keeps running.
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.reopenAttempts >= 3 })
        XCTAssertEqual(engine.counters.reopenings, 0)
        XCTAssertTrue(engine.status.running)

        // "Plug back in".
        try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2)
        XCTAssertTrue(AudioTestSupport.wait { events.count { if case .deviceBack = $0 { true } else { false } } == 1 },
                      "\(events.all)")
        XCTAssertTrue(engine.status.devicesOpen)
        let c = engine.counters
        XCTAssertEqual(c.deviceLosses, 1)
        XCTAssertEqual(c.reopenings, 1)
        // Audio flows again through the new session, playback included.
        let frames = c.capturedFrames
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.capturedFrames > frames + 1_600 })
        XCTAssertFalse(engine.readCaptured().isEmpty)
        engine.enqueuePlayback(samples24k: AudioTestSupport.tone(ms: 100))
        engine.endOfAnswer()
        XCTAssertTrue(AudioTestSupport.wait { events.drained == 2 }, "\(events.all)")
    }

    func testPlaybackDeviceLossIsReportedForPlayback() throws {
        let dir = try AudioTestSupport.scratchDirectory("unplug-pb")
        defer { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 0, count: 160_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2)
        let events = AudioEventLog()
        let engine = makeEngine(dir: dir, conf: conf, events: events)
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        engine._injectDeviceError(.playback, errno: EBADFD)
        XCTAssertTrue(AudioTestSupport.wait { events.count { if case .deviceLost(.playback, _) = $0 { true } else { false } } == 1 },
                      "\(events.all)")
        // The device was not really gone: it is back at the first reopen.
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.reopenings == 1 })
    }

    func testMissingDeviceAtStartIsWaitedForOrReported() throws {
        let dir = try AudioTestSupport.scratchDirectory("missing")
        defer { AudioTestSupport.remove(dir) }
        try AudioTestSupport.writeRaw([Int16](repeating: 0, count: 160_000), to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2, includeCapture: false)
        let events = AudioEventLog()

        // Without waiting: the open error, naming the device.
        let strict = makeEngine(dir: dir, conf: conf, events: events)
        XCTAssertThrowsError(try strict.start(waitForDevice: false)) { error in
            XCTAssertTrue("\(error)".contains(AudioTestSupport.capturePCM), "\(error)")
        }

        // Waiting (the daemon): reported, retried, picked up when it appears.
        let engine = makeEngine(dir: dir, conf: conf, events: events)
        try engine.start(waitForDevice: true)
        defer { engine.stop() }
        XCTAssertTrue(AudioTestSupport.wait { events.count { if case .deviceLost = $0 { true } else { false } } == 1 })
        XCTAssertTrue(AudioTestSupport.wait { engine.counters.reopenAttempts >= 2 })
        try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 2)
        XCTAssertTrue(AudioTestSupport.wait { engine.status.devicesOpen })
        XCTAssertTrue(AudioTestSupport.wait { events.count { if case .deviceBack = $0 { true } else { false } } == 1 })
    }
}
