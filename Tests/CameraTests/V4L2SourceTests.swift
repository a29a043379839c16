import OmniCore
@testable import OmniLinux
import RealtimeProtocol
import XCTest

/// The real V4L2 layer (V4L2Device, V4L2CameraSource) against the fake kernel: enumeration,
/// format negotiation, streaming with buffer recycling, fresh frames, and unplugging.
final class V4L2SourceTests: XCTestCase {
    static let red = TestJPEG.make((230, 10, 10), 1280, 720)
    static let smallRed = TestJPEG.make((230, 10, 10), 640, 480)

    /// A webcam offering MJPEG (1080p, 720p, 480p) and YUYV (480p only), like most UVC cameras.
    func webcam(_ card: String = "HD Webcam") -> FakeV4L2Kernel.Camera {
        FakeV4L2Kernel.Camera(
            card: card,
            formats: [(.mjpeg, [FrameSize(width: 1920, height: 1080), FrameSize(width: 1280, height: 720), FrameSize(width: 640, height: 480)]),
                      (.yuyv, [FrameSize(width: 640, height: 480)])],
            frame: { fourcc, size, _ in
                if fourcc == .mjpeg { return size.width == 1280 ? Self.red : Self.smallRed }
                return Self.yuyvBlue(size)
            })
    }

    /// A camera with raw frames only (vivid's defaults are like this).
    func rawCamera(_ sizes: [FrameSize], nv12: Bool = false) -> FakeV4L2Kernel.Camera {
        FakeV4L2Kernel.Camera(card: "vivid-like", formats: [(nv12 ? .nv12 : .yuyv, sizes)],
                              frame: { _, size, _ in nv12 ? Self.nv12Grey(size) : Self.yuyvBlue(size) })
    }

    static func yuyvBlue(_ s: FrameSize) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: s.area * 2)
        // BT.601 full range blue: Y 29, U 255, V 107.
        for i in stride(from: 0, to: b.count, by: 4) { (b[i], b[i + 1], b[i + 2], b[i + 3]) = (29, 255, 29, 107) }
        return b
    }

    static func nv12Grey(_ s: FrameSize) -> [UInt8] { [UInt8](repeating: 128, count: s.area * 3 / 2) }

    func testDeviceEnumeration() throws {
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", webcam())
        let d = try V4L2Device(path: "/dev/video0", syscalls: k.syscalls)
        let cap = try d.capability()
        XCTAssertEqual(cap.card, "HD Webcam")
        XCTAssertEqual(cap.driver, "fake")
        XCTAssertTrue(cap.canCapture && cap.canStream)
        let formats = try d.formats()
        XCTAssertEqual(formats.map(\.fourcc), [.mjpeg, .yuyv])
        XCTAssertEqual(formats[0].description, "Motion-JPEG")
        XCTAssertTrue(formats[0].compressed)
        XCTAssertEqual(formats[1].sizes, .discrete([FrameSize(width: 640, height: 480)]))
        d.close()
        XCTAssertEqual(k.openCount, 0)
        XCTAssertThrowsError(try V4L2Device(path: "/dev/video9", syscalls: k.syscalls)) {
            XCTAssertEqual(($0 as? CameraError)?.kind, .notFound)
        }
    }

    func testMJPEGWithinTheLimitsIsCapturedAndPassedThrough() throws {
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", webcam())
        let src = V4L2CameraSource(selection: .path("/dev/video0"), limit: FrameSize(width: 1280, height: 720),
                                   syscalls: k.syscalls, clock: k.clock)
        try src.start()
        XCTAssertEqual(src.choice, CameraFormatChoice(format: .jpeg, capture: FrameSize(width: 1280, height: 720),
                                                      output: FrameSize(width: 1280, height: 720)))
        XCTAssertEqual(src.name, "/dev/video0 (HD Webcam, MJPG 1280x720, passed through)")
        let enc = try CameraFrameEncoder(settings: .init(limit: FrameSize(width: 1280, height: 720), quality: 80))
        // Many frames in a row: buffers go back to the driver, each frame is fresh.
        var last: Duration = .zero
        for _ in 0..<20 {
            let asked = k.clock.now()
            let f = try XCTUnwrap(try src.nextFrame(timeout: .seconds(1)))
            XCTAssertEqual(f.format, .jpeg)
            XCTAssertGreaterThanOrEqual(f.capturedAt, asked - V4L2CameraSource.freshness)
            XCTAssertGreaterThan(f.capturedAt, last)
            last = f.capturedAt
            let out = try enc.encode(f)
            XCTAssertTrue(out.passthrough)
            XCTAssertEqual(Array(out.bytes), Self.red)
            // The camera keeps running between shots (a frame every 33 ms).
            (k.clock as! ManualClock).advance(by: .milliseconds(250))
        }
        src.stop()
        XCTAssertEqual(k.streamingCount, 0)
        src.close()
        XCTAssertEqual(k.openCount, 0)
    }

    func testRawOnlyCameraIsConvertedAndScaled() throws {
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", rawCamera([FrameSize(width: 1920, height: 1080)]))
        let src = V4L2CameraSource(selection: .path("/dev/video0"), limit: FrameSize(width: 1280, height: 720),
                                   syscalls: k.syscalls, clock: k.clock)
        try src.start()
        XCTAssertEqual(src.choice?.description, "yuyv 1920x1080 scaled to 1280x720")
        let enc = try CameraFrameEncoder(settings: .init(limit: FrameSize(width: 1280, height: 720), quality: 80))
        let f = try XCTUnwrap(try src.nextFrame(timeout: .seconds(1)))
        XCTAssertEqual(f.stride, 1920 * 2)
        let out = try enc.encode(f)
        XCTAssertEqual(out.size, FrameSize(width: 1280, height: 720))
        let m = TestJPEG.mean(Array(out.bytes))
        XCTAssertGreaterThan(m.b, 200, "blue: \(m)")
        XCTAssertLessThan(m.r, 40)

        let k2 = FakeV4L2Kernel()
        k2.add("/dev/video3", rawCamera([FrameSize(width: 640, height: 480)], nv12: true))
        let nv = V4L2CameraSource(selection: .path("/dev/video3"), limit: FrameSize(width: 1280, height: 720),
                                  syscalls: k2.syscalls, clock: k2.clock)
        try nv.start()
        let g = try enc.encode(XCTUnwrap(try nv.nextFrame(timeout: .seconds(1))))
        XCTAssertEqual(g.size, FrameSize(width: 640, height: 480))
        XCTAssertEqual(TestJPEG.mean(Array(g.bytes)).g, 128, accuracy: 4)
    }

    func testAutoSkipsNodesThatCannotCapture() throws {
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", FakeV4L2Kernel.Camera(card: "metadata", formats: [(V4L2FourCC("UVCH"), [])], frame: { _, _, _ in [] }))
        k.add("/dev/video1", webcam("Second"))
        let src = V4L2CameraSource(selection: .auto, limit: FrameSize(width: 640, height: 480), syscalls: k.syscalls, clock: k.clock)
        try src.start()
        XCTAssertTrue(src.name.hasPrefix("/dev/video1 (Second, MJPG 640x480"), src.name)
        XCTAssertEqual(k.openCount, 1, "the unusable node was closed again")

        let none = FakeV4L2Kernel()
        let s2 = V4L2CameraSource(selection: .auto, limit: FrameSize(width: 640, height: 480), syscalls: none.syscalls, clock: none.clock)
        XCTAssertThrowsError(try s2.start()) { XCTAssertEqual("\($0)", "no camera found (no /dev/video* device)") }
    }

    func testUnplugMidStreamIsGoneThenReopens() throws {
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", webcam())
        let src = V4L2CameraSource(selection: .path("/dev/video0"), limit: FrameSize(width: 1280, height: 720),
                                   syscalls: k.syscalls, clock: k.clock)
        try src.start()
        XCTAssertNotNil(try src.nextFrame(timeout: .seconds(1)))
        k.unplug("/dev/video0")
        XCTAssertThrowsError(try src.nextFrame(timeout: .seconds(1))) { XCTAssertEqual(($0 as? CameraError)?.kind, .gone) }
        XCTAssertEqual(k.openCount, 0, "a lost device is closed")
        XCTAssertThrowsError(try src.start()) { XCTAssertEqual(($0 as? CameraError)?.kind, .notFound) }
        k.replug("/dev/video0")
        try src.start()
        XCTAssertNotNil(try src.nextFrame(timeout: .seconds(1)))
    }

    func testNoFrameWithinTheTimeoutIsNil() throws {
        var cam = webcam()
        cam.frameInterval = .seconds(5)
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", cam)
        let src = V4L2CameraSource(selection: .path("/dev/video0"), limit: FrameSize(width: 1280, height: 720),
                                   syscalls: k.syscalls, clock: k.clock)
        try src.start()
        XCTAssertNotNil(try src.nextFrame(timeout: .milliseconds(200)), "frame 0 comes at stream on")
        XCTAssertNil(try src.nextFrame(timeout: .milliseconds(200)))
    }

    func testDevicesListing() {
        let k = FakeV4L2Kernel()
        k.add("/dev/video0", webcam())
        var raw = rawCamera([FrameSize(width: 640, height: 480)], nv12: true)
        // Formats omnid does not read are named in one line; vivid lists big-endian ones (bit 31
        // set), which v4l2-ctl writes as "Y16 -BE".
        raw.formats.append((V4L2FourCC("UYVY"), [FrameSize(width: 640, height: 480)]))
        raw.formats.append((V4L2FourCC(V4L2FourCC("Y16 ").code | 0x8000_0000), [FrameSize(width: 640, height: 480)]))
        k.add("/dev/video1", raw)
        XCTAssertEqual(CameraDevices.scan(syscalls: k.syscalls), """
            Cameras (V4L2):
              /dev/video0: HD Webcam (fake, platform:fake)
                MJPG (Motion-JPEG): 1920x1080, 1280x720, 640x480
                YUYV (YUYV): 640x480
              /dev/video1: vivid-like (fake, platform:fake)
                NV12 (NV12): 640x480
                not used by omnid: UYVY, Y16 -BE
            """)
        XCTAssertEqual(k.openCount, 0)
        XCTAssertEqual(CameraDevices.scan(syscalls: FakeV4L2Kernel().syscalls), "Cameras (V4L2):\n  none (no /dev/video* device)")
    }
}
