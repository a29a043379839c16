import XCTest
@testable import OmniCore

/// Format choice, fitting, and YUYV/NV12 → I420, without a camera.
final class CameraPixelTests: XCTestCase {
    let hd = FrameSize(width: 1280, height: 720)

    func size(_ w: Int, _ h: Int) -> FrameSize { FrameSize(width: w, height: h) }

    func testMJPEGWithinTheLimitsIsPassedThrough() {
        let c = CameraFormatChoice.choose([
            CameraFormatOffer(format: .yuyv, sizes: [size(640, 480), size(1280, 720)]),
            CameraFormatOffer(format: .jpeg, sizes: [size(1920, 1080), size(1280, 720), size(640, 480)]),
        ], limit: hd)
        XCTAssertEqual(c, CameraFormatChoice(format: .jpeg, capture: size(1280, 720), output: size(1280, 720)))
        XCTAssertTrue(c!.passthrough)
    }

    func testRawFormatsWhenNoJPEGFits() {
        let c = CameraFormatChoice.choose([
            CameraFormatOffer(format: .jpeg, sizes: [size(1920, 1080)]),
            CameraFormatOffer(format: .nv12, sizes: [size(1280, 720)]),
            CameraFormatOffer(format: .yuyv, sizes: [size(640, 480), size(1280, 720)]),
        ], limit: hd)
        XCTAssertEqual(c, CameraFormatChoice(format: .yuyv, capture: size(1280, 720), output: size(1280, 720)))
        XCTAssertFalse(c!.passthrough)
    }

    func testNothingFitsCapturesTheSmallestAndScales() {
        let c = CameraFormatChoice.choose([
            CameraFormatOffer(format: .yuyv, sizes: [size(2592, 1944), size(1920, 1080)]),
        ], limit: hd)
        XCTAssertEqual(c, CameraFormatChoice(format: .yuyv, capture: size(1920, 1080), output: size(1280, 720)))
        XCTAssertNil(CameraFormatChoice.choose([], limit: hd))
    }

    func testFitting() {
        XCTAssertEqual(size(1920, 1080).fitted(in: hd), size(1280, 720))
        XCTAssertEqual(size(2592, 1944).fitted(in: hd), size(960, 720))
        XCTAssertEqual(size(640, 480).fitted(in: hd), size(640, 480))
        XCTAssertEqual(size(1280, 1024).fitted(in: size(640, 480)), size(600, 480))
        XCTAssertEqual(size(1921, 1081).fitted(in: size(1920, 1080)), size(1918, 1080))
    }

    func testStepwiseCandidates() {
        let c = CameraFormatOffer.candidates(min: size(16, 16), max: size(1920, 1080), stepWidth: 16, stepHeight: 8)
        XCTAssertTrue(c.contains(size(1280, 720)))
        XCTAssertTrue(c.contains(size(640, 480)))
        XCTAssertEqual(c.last, size(1920, 1080))
    }

    /// A YUYV frame: each pixel's luma is its column, chroma U = row, V = 255 - row.
    func yuyv(_ w: Int, _ h: Int, stride: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: stride * h)
        for r in 0..<h {
            for x in 0..<w {
                b[r * stride + 2 * x] = UInt8(x % 256)
                b[r * stride + 2 * x + 1] = x % 2 == 0 ? UInt8(r % 256) : UInt8(255 - r % 256)
            }
        }
        return b
    }

    func testYUYVToI420AtTheSameSize() {
        var img = YUV420Image(size: size(8, 4))
        let src = yuyv(8, 4, stride: 20)  // rows padded
        src.withUnsafeBytes { img.fill(yuyv: $0, source: size(8, 4), stride: 20) }
        XCTAssertEqual(Array(img.y[0..<8]), [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(Array(img.y[24..<32]), [0, 1, 2, 3, 4, 5, 6, 7])
        // Chroma rows 0+1 averaged (U 0,1 → 1 rounded up from 0.5), rows 2+3 (2,3 → 3).
        XCTAssertEqual(img.u, [1, 1, 1, 1, 3, 3, 3, 3])
        XCTAssertEqual(img.v, [255, 255, 255, 255, 253, 253, 253, 253])
    }

    func testYUYVScaledDown() {
        var img = YUV420Image(size: size(4, 2))
        let src = yuyv(8, 4, stride: 16)
        src.withUnsafeBytes { img.fill(yuyv: $0, source: size(8, 4), stride: 16) }
        // Nearest neighbour from pixel centres: columns 1, 3, 5, 7 of rows 1 and 3.
        XCTAssertEqual(img.y, [1, 3, 5, 7, 1, 3, 5, 7])
        XCTAssertEqual(img.u.count, 2)
    }

    func testNV12ToI420() {
        let w = 4, h = 4, stride = 6
        var src = [UInt8](repeating: 0, count: stride * h + stride * h / 2)
        for r in 0..<h { for x in 0..<w { src[r * stride + x] = UInt8(10 * r + x) } }
        for r in 0..<(h / 2) {
            for cx in 0..<(w / 2) {
                src[stride * h + r * stride + 2 * cx] = UInt8(100 + 10 * r + cx)
                src[stride * h + r * stride + 2 * cx + 1] = UInt8(200 + 10 * r + cx)
            }
        }
        var img = YUV420Image(size: size(4, 4))
        src.withUnsafeBytes { img.fill(nv12: $0, source: size(4, 4), stride: stride) }
        XCTAssertEqual(img.y, [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33])
        XCTAssertEqual(img.u, [100, 101, 110, 111])
        XCTAssertEqual(img.v, [200, 201, 210, 211])
    }

    func testShortBuffersAreIgnoredNotRead() {
        var img = YUV420Image(size: size(4, 2))
        let before = img.y
        [UInt8](repeating: 9, count: 10).withUnsafeBytes { img.fill(yuyv: $0, source: size(8, 4), stride: 16) }
        XCTAssertEqual(img.y, before)
    }
}
