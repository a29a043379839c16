import OmniCore
import OmniJPEG
@testable import OmniLinux
import RealtimeProtocol
import XCTest

/// Test pictures made with libjpeg-turbo, and their mean colour.
enum TestJPEG {
    /// A solid colour, or (with `noise`) random pixels, which compress worst.
    static func make(_ rgb: (UInt8, UInt8, UInt8), _ w: Int, _ h: Int, quality: Int = 85, noise: Bool = false) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<(w * h) {
            if noise {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                pixels[3 * i] = UInt8(truncatingIfNeeded: seed >> 33)
                pixels[3 * i + 1] = UInt8(truncatingIfNeeded: seed >> 41)
                pixels[3 * i + 2] = UInt8(truncatingIfNeeded: seed >> 49)
            } else {
                (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = rgb
            }
        }
        let enc = try! JPEGEncoder()
        return pixels.withUnsafeBytes { Array(try! enc.encode(rgb: $0.baseAddress!, width: w, height: h, pitch: w * 3, quality: quality)) }
    }

    static func mean(_ jpeg: [UInt8]) -> (r: Int, g: Int, b: Int, size: FrameSize) {
        let dec = try! JPEGDecoder()
        let full = jpeg.withUnsafeBytes { try! dec.info($0) }
        let px = jpeg.withUnsafeBytes { try! dec.decodeRGB($0, fittingWidth: 64, height: 64) }
        var sum = (0, 0, 0)
        let n = px.width * px.height
        for i in 0..<n {
            sum.0 += Int(px.bytes[3 * i])
            sum.1 += Int(px.bytes[3 * i + 1])
            sum.2 += Int(px.bytes[3 * i + 2])
        }
        return (sum.0 / n, sum.1 / n, sum.2 / n, FrameSize(width: full.width, height: full.height))
    }

    /// The JPEG with every DHT segment taken out (as many UVC cameras send MJPEG).
    static func strippingHuffmanTables(_ jpeg: [UInt8]) -> [UInt8] {
        var out = Array(jpeg[0..<2])
        var i = 2
        while i + 4 <= jpeg.count {
            let marker = jpeg[i + 1]
            if marker == 0xDA { out += jpeg[i...]; break }
            let len = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            if marker != 0xC4 { out += jpeg[i..<(i + 2 + len)] }
            i += 2 + len
        }
        return out
    }
}

final class JPEGLayerTests: XCTestCase {
    func testEncodeDecodeKeepsTheColour() {
        let red = TestJPEG.make((220, 20, 20), 640, 480)
        let m = TestJPEG.mean(red)
        XCTAssertEqual(m.size, FrameSize(width: 640, height: 480))
        XCTAssertEqual(m.r, 220, accuracy: 6)
        XCTAssertEqual(m.g, 20, accuracy: 6)
        XCTAssertEqual(m.b, 20, accuracy: 6)
    }

    func testHeaderParsingBaselineAndProgressive() throws {
        let j = TestJPEG.make((0, 0, 255), 320, 240)
        let h = try JPEGHeader.parse(j)
        XCTAssertEqual(h.width, 320)
        XCTAssertEqual(h.height, 240)
        XCTAssertEqual(h.components, 3)
        XCTAssertEqual(h.process, .baseline)
        XCTAssertTrue(h.hasHuffmanTables)
        XCTAssertTrue(h.hasEndMarker)
        // A progressive image: SOF2. (libjpeg-turbo writes one with TJFLAG_PROGRESSIVE; this is
        // the same bytes with the frame marker changed, which is all the parser reads.)
        var p = j
        let sof = try XCTUnwrap((2..<(p.count - 1)).first { p[$0] == 0xFF && p[$0 + 1] == 0xC0 })
        p[sof + 1] = 0xC2
        XCTAssertEqual(try JPEGHeader.parse(p).process, .progressive)
        // Broken inputs are errors with a reason.
        XCTAssertThrowsError(try JPEGHeader.parse([0x89, 0x50, 0x4E, 0x47]))
        XCTAssertThrowsError(try JPEGHeader.parse(Array(j.prefix(100))))
        var lossless = j
        lossless[sof + 1] = 0xC3
        XCTAssertThrowsError(try JPEGHeader.parse(lossless)) { XCTAssertTrue("\($0)".contains("lossless")) }
        XCTAssertFalse(try JPEGHeader.parse(Array(j.dropLast(2))).hasEndMarker)
    }

    func testTheStandardTablesAreWhatLibjpegWrites() throws {
        let j = TestJPEG.make((10, 200, 10), 64, 64)
        var dht: [UInt8] = []
        var i = 2
        while i + 4 <= j.count, j[i + 1] != 0xDA {
            let len = Int(j[i + 2]) << 8 | Int(j[i + 3])
            if j[i + 1] == 0xC4 { dht += j[i..<(i + 2 + len)] }
            i += 2 + len
        }
        XCTAssertEqual(dht, MJPEGHuffman.standardTables)
    }

    func testMJPEGWithoutTablesGetsThemAndDecodes() throws {
        let original = TestJPEG.make((250, 250, 0), 320, 240)
        let bare = TestJPEG.strippingHuffmanTables(original)
        let header = try JPEGHeader.parse(bare)
        XCTAssertFalse(header.hasHuffmanTables)
        let fixed = try XCTUnwrap(bare.withUnsafeBytes { MJPEGHuffman.completed($0, header: header) })
        XCTAssertEqual(fixed.count, bare.count + MJPEGHuffman.standardTables.count)
        XCTAssertEqual(fixed, original, "the same bytes libjpeg wrote, tables back where they were")
        XCTAssertNil(original.withUnsafeBytes { MJPEGHuffman.completed($0, header: try! JPEGHeader.parse(original)) })
    }

    func frame(_ jpeg: [UInt8], _ body: (RawFrame) throws -> Void) rethrows {
        let h = try! JPEGHeader.parse(jpeg)
        try jpeg.withUnsafeBytes { b in
            try body(RawFrame(format: .jpeg, width: h.width, height: h.height, stride: 0, bytes: b, capturedAt: .seconds(5)))
        }
    }

    func testFittingJPEGsPassThroughLargeOnesAreScaled() throws {
        let enc = try CameraFrameEncoder(settings: .init(limit: FrameSize(width: 640, height: 480), quality: 80))
        try frame(TestJPEG.make((0, 0, 200), 640, 480)) { f in
            let out = try enc.encode(f)
            XCTAssertTrue(out.passthrough)
            XCTAssertEqual(Array(out.bytes), Array(f.bytes))
        }
        try frame(TestJPEG.make((0, 0, 200), 1920, 1080)) { f in
            let out = try enc.encode(f)
            XCTAssertFalse(out.passthrough)
            XCTAssertEqual(out.quality, 80)
            XCTAssertTrue(out.size.fits(in: FrameSize(width: 640, height: 480)), "\(out.size)")
            let m = TestJPEG.mean(Array(out.bytes))
            XCTAssertEqual(m.size, out.size)
            XCTAssertEqual(m.b, 200, accuracy: 8)
        }
        // A camera frame without Huffman tables is passed through with them.
        try frame(TestJPEG.strippingHuffmanTables(TestJPEG.make((9, 9, 9), 320, 240))) { f in
            let out = try enc.encode(f)
            XCTAssertTrue(out.passthrough)
            XCTAssertTrue(try JPEGHeader.parse(Array(out.bytes)).hasHuffmanTables)
        }
    }

    func testQualityIsLoweredUntilTheFrameFitsTheServiceLimit() throws {
        // Random pixels at 1280x720 and quality 95 are far above 192 KiB.
        let noisy = TestJPEG.make((0, 0, 0), 1280, 720, quality: 95, noise: true)
        XCTAssertGreaterThan(noisy.count, CameraLimits.maxJPEGBytes)
        let enc = try CameraFrameEncoder(settings: .init(limit: FrameSize(width: 1280, height: 720), quality: 95))
        try frame(noisy) { f in
            let out = try enc.cameraFrame(f, encodedAt: { .seconds(6) })
            XCTAssertFalse(out.passthrough)
            XCTAssertLessThanOrEqual(out.base64.utf8.count, CameraLimits.maxBase64Bytes)
            XCTAssertLessThan(out.quality!, 95)
            print("noise 1280x720: \(out.summary)")
            XCTAssertEqual(out.capturedAt, .seconds(5))
            XCTAssertEqual(out.encodedAt, .seconds(6))
            XCTAssertEqual(Base64.decode(out.base64)?.count, out.jpegBytes)
        }
    }

    func testRawFramesAreEncodedAndScaled() throws {
        let w = 1920, h = 1080
        // YUYV of a saturated green (Y 145, U 54, V 34 in BT.601 full range ≈ RGB 0,255,0).
        var yuyv = [UInt8](repeating: 0, count: w * h * 2)
        for i in stride(from: 0, to: yuyv.count, by: 4) { (yuyv[i], yuyv[i + 1], yuyv[i + 2], yuyv[i + 3]) = (145, 54, 145, 34) }
        let enc = try CameraFrameEncoder(settings: .init(limit: FrameSize(width: 1280, height: 720), quality: 80))
        try yuyv.withUnsafeBytes { b in
            let out = try enc.cameraFrame(RawFrame(format: .yuyv, width: w, height: h, stride: w * 2, bytes: b, capturedAt: .zero),
                                          encodedAt: { .zero })
            XCTAssertEqual(FrameSize(width: out.width, height: out.height), FrameSize(width: 1280, height: 720))
            let m = TestJPEG.mean(Base64.decode(out.base64)!)
            XCTAssertLessThan(m.r, 40)
            XCTAssertGreaterThan(m.g, 200)
            XCTAssertLessThan(m.b, 40)
        }
        // NV12 of mid grey at 640x480: no scaling.
        var nv12 = [UInt8](repeating: 128, count: 640 * 480 * 3 / 2)
        for i in 0..<(640 * 480) { nv12[i] = 128 }
        try nv12.withUnsafeBytes { b in
            let out = try enc.encode(RawFrame(format: .nv12, width: 640, height: 480, stride: 640, bytes: b, capturedAt: .zero))
            XCTAssertEqual(out.size, FrameSize(width: 640, height: 480))
            let m = TestJPEG.mean(Array(out.bytes))
            XCTAssertEqual(m.r, 128, accuracy: 4)
            XCTAssertEqual(m.g, 128, accuracy: 4)
        }
    }

    func testGarbageIsAFrameErrorNotACrash() throws {
        let enc = try CameraFrameEncoder(settings: .init(limit: FrameSize(width: 640, height: 480), quality: 80))
        let junk: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + [UInt8](repeating: 7, count: 50)
        try junk.withUnsafeBytes { b in
            XCTAssertThrowsError(try enc.encode(RawFrame(format: .jpeg, width: 1, height: 1, stride: 0, bytes: b, capturedAt: .zero)))
        }
        // A frame cut short (no EOI) that is too big is re-encoded; libjpeg refuses the corrupt data.
        let big = TestJPEG.make((1, 2, 3), 1920, 1080)
        let cut = Array(big.prefix(big.count / 2))
        try cut.withUnsafeBytes { b in
            XCTAssertThrowsError(try enc.encode(RawFrame(format: .jpeg, width: 1920, height: 1080, stride: 0, bytes: b, capturedAt: .zero)))
        }
    }
}
