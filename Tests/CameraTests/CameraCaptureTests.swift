import Foundation
import OmniCore
@testable import OmniLinux
import RealtimeProtocol
import XCTest

/// The capture thread: frames only while active, the privacy LED exactly around capturing, a
/// lost camera logged once and reopened when it returns (file backend and fake V4L2 kernel).
final class CameraCaptureTests: XCTestCase {
    /// Records LED changes in order.
    final class Light: CameraPrivacyLight, @unchecked Sendable {
        private let lock = NSLock()
        private var changes: [Bool] = []
        private var current = false
        /// Frames seen while the LED was off (must stay 0).
        private var darkFrames = 0
        func set(_ on: Bool) {
            lock.withLock {
                if on != current { changes.append(on) }
                current = on
            }
        }
        var isOn: Bool { lock.withLock { current } }
        var history: [Bool] { lock.withLock { changes } }
        func frameSeen() { lock.withLock { if !current { darkFrames += 1 } } }
        var framesInTheDark: Int { lock.withLock { darkFrames } }
    }

    func frameDirectory(_ colours: [(String, (UInt8, UInt8, UInt8))]) throws -> String {
        let dir = NSTemporaryDirectory() + "omni-camera-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, rgb) in colours {
            try Data(TestJPEG.make(rgb, 320, 240)).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
        return dir
    }

    func capture(_ makeSource: @escaping @Sendable () -> any CameraSource, interval: Duration = .milliseconds(40),
                 light: Light, log: LogLines, inbox: FrameInbox) -> CameraCapture {
        CameraCapture(options: .init(interval: interval, retryInterval: .milliseconds(50), stallTimeout: .seconds(2)),
                      makeSource: makeSource, encoder: .init(limit: FrameSize(width: 1280, height: 720), quality: 80),
                      light: light, clock: SystemMonotonicClock(), logger: log.logger) { f in
            light.frameSeen()
            inbox.add(CameraFrameRecord(width: f.width, height: f.height, jpeg: Base64.decode(f.base64) ?? [],
                                        passthrough: f.passthrough, capturedAt: f.capturedAt))
        }
    }

    func testFilesCycleInNameOrderOnlyWhileActive() throws {
        let dir = try frameDirectory([("b.jpg", (0, 0, 240)), ("a.jpg", (240, 0, 0)), ("c.txt", (0, 0, 0))])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let light = Light(), log = LogLines(), inbox = FrameInbox()
        let cam = capture({ FileCameraSource(directory: dir, clock: SystemMonotonicClock()) }, light: light, log: log, inbox: inbox)
        try cam.start()
        defer { cam.requestStop(); cam.join() }
        XCTAssertFalse(light.isOn)
        cam.setActive(true)
        XCTAssertTrue(eventually { inbox.count >= 4 })
        cam.setActive(false)
        XCTAssertTrue(eventually { !light.isOn })
        let n = inbox.count
        let colours = inbox.all.map { TestJPEG.mean($0.jpeg) }.map { $0.r > $0.b ? "red" : "blue" }
        XCTAssertEqual(Array(colours.prefix(4)), ["red", "blue", "red", "blue"], "a.jpg, b.jpg, a.jpg, …")
        XCTAssertTrue(inbox.all.allSatisfy { $0.passthrough && $0.width == 320 })
        // Frames keep the interval's rhythm, never faster: a frame taken late is followed by the next
        // one on the rhythm (sooner than an interval after it), so the bound holds for frames two
        // apart — at least one interval, however late any wake-up was (CameraCapture's nextShot).
        let times = inbox.all.map(\.capturedAt)
        for (a, c) in zip(times, times.dropFirst(2)) { XCTAssertGreaterThanOrEqual(c - a, .milliseconds(35)) }
        // Inactive: no more frames (the thread is idle; a frame in flight when it was told may land).
        cam.setActive(true)
        XCTAssertTrue(eventually { inbox.count >= n + 1 })
        cam.setActive(false)
        XCTAssertTrue(eventually { !light.isOn })
        XCTAssertEqual(light.history, [true, false, true, false])
        XCTAssertEqual(light.framesInTheDark, 0, "the LED is on for every frame")
    }

    func testALostCameraIsLoggedOnceAndReopenedWhenItReturns() throws {
        let dir = try frameDirectory([("a.jpg", (0, 200, 0))])
        let away = dir + "-away"
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: away)
        }
        let light = Light(), log = LogLines(), inbox = FrameInbox()
        let cam = capture({ FileCameraSource(directory: dir, clock: SystemMonotonicClock()) }, light: light, log: log, inbox: inbox)
        try cam.start()
        defer { cam.requestStop(); cam.join() }
        cam.setActive(true)
        XCTAssertTrue(eventually { inbox.count >= 2 })
        // "Unplug": the directory goes away while frames are being taken.
        try FileManager.default.moveItem(atPath: dir, toPath: away)
        XCTAssertTrue(eventually { log.count("camera lost") == 1 })
        // Several reopen attempts fail meanwhile, each silently.
        XCTAssertTrue(eventually { cam.status.losses == 1 && !light.isOn })
        let before = inbox.count
        let failed = cam.status.failedStarts
        XCTAssertTrue(eventually { cam.status.failedStarts >= failed + 4 })
        XCTAssertEqual(log.count("camera lost") + log.count("unavailable"), 1, log.all.joined(separator: "\n"))
        try FileManager.default.moveItem(atPath: away, toPath: dir)
        XCTAssertTrue(eventually { inbox.count > before + 1 })
        XCTAssertEqual(log.count("is back"), 1, log.all.joined(separator: "\n"))
        XCTAssertTrue(light.isOn)
        XCTAssertEqual(cam.status.reopens, 1)
    }

    func testV4L2UnplugAndReplugThroughTheThread() throws {
        let k = FakeV4L2Kernel(realTime: ())
        let red = TestJPEG.make((220, 0, 0), 640, 480)
        k.add("/dev/video0", FakeV4L2Kernel.Camera(card: "Cam", formats: [(.mjpeg, [FrameSize(width: 640, height: 480)])],
                                                     frame: { _, _, _ in red }))
        let light = Light(), log = LogLines(), inbox = FrameInbox()
        let sys = k.syscalls, clock = k.clock
        let cam = capture({ V4L2CameraSource(selection: .path("/dev/video0"), limit: FrameSize(width: 1280, height: 720),
                                             syscalls: sys, clock: clock) }, light: light, log: log, inbox: inbox)
        try cam.start()
        defer { cam.requestStop(); cam.join() }
        cam.setActive(true)
        XCTAssertTrue(eventually { inbox.count >= 2 })
        XCTAssertEqual(k.streamingCount, 1)
        k.unplug("/dev/video0")
        XCTAssertTrue(eventually { log.count("camera lost") == 1 && k.openCount == 0 })
        XCTAssertTrue(eventually { !light.isOn })
        let before = inbox.count
        k.replug("/dev/video0")
        XCTAssertTrue(eventually { inbox.count > before })
        XCTAssertEqual(log.count("is back"), 1, log.all.joined(separator: "\n"))
        XCTAssertEqual(log.count("camera lost"), 1, log.all.joined(separator: "\n"))
        cam.setActive(false)
        XCTAssertTrue(eventually { k.streamingCount == 0 && !light.isOn })
        XCTAssertEqual(k.openCount, 1, "kept open between turns, not streaming")
        cam.requestStop()
        cam.join()
        XCTAssertEqual(k.openCount, 0)
    }

    func testAMissingCameraDoesNotStopTheThread() throws {
        let light = Light(), log = LogLines(), inbox = FrameInbox()
        let cam = capture({ FileCameraSource(directory: "/nonexistent/frames", clock: SystemMonotonicClock()) },
                          light: light, log: log, inbox: inbox)
        try cam.start()
        cam.setActive(true)
        XCTAssertTrue(eventually { log.count("unavailable") == 1 })
        cam.setActive(false)
        cam.requestStop()
        cam.join()
        XCTAssertEqual(inbox.count, 0)
        XCTAssertFalse(light.isOn)
        XCTAssertEqual(log.count("unavailable"), 1)
    }
}
