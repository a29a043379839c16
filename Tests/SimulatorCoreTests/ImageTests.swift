import Foundation
import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// The camera pictures in Tests/Fixtures/camera (see its README).
enum CameraFixtures {
    static func bytes(_ name: String) -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/camera/\(name)")
        guard let d = try? Data(contentsOf: url) else {
            XCTFail("camera fixture \(url.path) is missing: it belongs to the repository (Tests/Fixtures/camera)")
            return []
        }
        return Array(d)
    }

    static func base64(_ name: String) -> String { Base64.encode(bytes(name)) }
}

/// omni-sim's image rules (protocol §3.5) and `--answer describe`.
final class ImageTests: XCTestCase {
    let red = CameraFixtures.base64("red-640x480.jpg")
    let blue = CameraFixtures.base64("blue-640x480.jpg")

    /// A stand-in decoder: the test pictures' colours by size of the file name's picture.
    func options(decoder: Bool = true) -> SimOptions {
        var o = SimOptions.fast()
        o.answer = .describe
        let red = CameraFixtures.bytes("red-640x480.jpg")
        if decoder {
            o.decodeImage = { bytes in bytes == red ? .decoded(red: 220, green: 30, blue: 30) : .decoded(red: 30, green: 40, blue: 220) }
        }
        return o
    }

    func images(_ h: Harness) -> [SimImage] {
        h.actions.compactMap { if case .imageReceived(let i) = $0 { i } else { nil } }
    }

    func transcripts(_ h: Harness) -> [String] {
        h.events.compactMap { if case .audioTranscriptDone(_, let t) = $0.body { t } else { nil } }
    }

    func testEachImageIsCheckedAndReported() {
        let h = Harness(options: options())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 100))
        h.send(.inputImageBufferAppend(image: red))
        XCTAssertNil(h.lastError())
        let i = try! XCTUnwrap(images(h).first)
        XCTAssertEqual(i.width, 640)
        XCTAssertEqual(i.height, 480)
        XCTAssertEqual(i.process, "baseline")
        XCTAssertEqual(i.bytes, 5430)
        XCTAssertEqual(i.base64Bytes, red.utf8.count)
        XCTAssertEqual(i.colourName, "red")
        XCTAssertEqual(i.summary, "640×480 baseline, 5430 bytes (7240 Base64), mostly red (220,30,30)")
    }

    func testDescribeNamesTheTurnsImages() {
        let h = Harness(options: options())
        h.send(manualUpdate)
        // Turn 1: one red image.
        h.append(Signal.tone(ms: 300))
        h.send(.inputImageBufferAppend(image: red))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        // Turn 2: red, then blue a second later.
        h.append(Signal.tone(ms: 300))
        h.send(.inputImageBufferAppend(image: red))
        h.advance(by: .seconds(1))
        h.append(Signal.tone(ms: 100))
        h.send(.inputImageBufferAppend(image: blue))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        // Turn 3: none.
        h.append(Signal.tone(ms: 300))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        XCTAssertEqual(transcripts(h), [
            "I see one 640×480 image, mostly red.",
            "I see 2 images: 640×480 mostly red, then 640×480 mostly blue.",
            "I see no image.",
        ])
        XCTAssertEqual(h.session.videoTurns, 2)
    }

    func testWithoutADecoderTheColourIsUnknown() {
        let h = Harness(options: options(decoder: false))
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 300))
        h.send(.inputImageBufferAppend(image: blue))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        XCTAssertEqual(transcripts(h), ["I see one 640×480 image."])
    }

    func testAudioFirstInEveryTurn() {
        let h = Harness(options: options())
        h.send(manualUpdate)
        h.send(.inputImageBufferAppend(image: red))
        XCTAssertEqual(h.lastError()?.message, "Error append image before append audio.")
        XCTAssertEqual(h.lastError()?.type, "invalid_request_error")
        XCTAssertTrue(images(h).isEmpty)
    }

    func testTooFastIsRefused() {
        let h = Harness(options: options())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 100))
        h.send(.inputImageBufferAppend(image: red))
        h.advance(by: .milliseconds(100))
        h.send(.inputImageBufferAppend(image: red))
        XCTAssertEqual(h.lastError()?.message,
                       "Images are appended too fast: 100 ms after the previous one; at least 250 ms apart (about 1 per second).")
        h.advance(by: .milliseconds(400))
        let n = h.events.count
        h.send(.inputImageBufferAppend(image: red))
        XCTAssertEqual(h.events.count, n, "accepted")
        XCTAssertEqual(images(h).count, 2)
    }

    func testOversizeAndUndecodableImages() {
        let h = Harness(options: options())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 100))
        // The red picture's frame header claiming 3840x2160.
        var big = CameraFixtures.bytes("red-640x480.jpg")
        let sof = (2..<(big.count - 1)).first { big[$0] == 0xFF && big[$0 + 1] == 0xC0 }!
        (big[sof + 5], big[sof + 6], big[sof + 7], big[sof + 8]) = (0x08, 0x70, 0x0F, 0x00)
        h.send(.inputImageBufferAppend(image: Base64.encode(big)))
        XCTAssertEqual(h.lastError()?.message, "Image of 3840x2160 exceeds the maximum resolution of 1920x1080.")
        // Markers fine, no frame header before the scan.
        h.send(.inputImageBufferAppend(image: Base64.encode([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9])))
        XCTAssertEqual(h.lastError()?.message, "Invalid image: the JPEG cannot be decoded (scan before any frame header (SOF)).")
        // The decoder's verdict counts.
        var o = options()
        o.decodeImage = { _ in .failed("Corrupt JPEG data") }
        let h2 = Harness(options: o)
        h2.append(Signal.tone(ms: 100))
        h2.send(.inputImageBufferAppend(image: red))
        XCTAssertEqual(h2.lastError()?.message, "Invalid image: the JPEG cannot be decoded (Corrupt JPEG data).")
        XCTAssertEqual(h2.lastError()?.param, "image")
    }

    func testClearDropsTheTurnsImages() {
        let h = Harness(options: options())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 300))
        h.send(.inputImageBufferAppend(image: red))
        h.send(.inputAudioBufferClear)
        h.append(Signal.tone(ms: 300))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        XCTAssertEqual(transcripts(h), ["I see no image."])
    }

    func testColourNames() {
        XCTAssertEqual(SimImage.colourName(red: 220, green: 30, blue: 30), "red")
        XCTAssertEqual(SimImage.colourName(red: 30, green: 40, blue: 220), "blue")
        XCTAssertEqual(SimImage.colourName(red: 20, green: 200, blue: 20), "green")
        XCTAssertEqual(SimImage.colourName(red: 230, green: 220, blue: 30), "yellow")
        XCTAssertEqual(SimImage.colourName(red: 128, green: 128, blue: 128), "grey")
        XCTAssertEqual(SimImage.colourName(red: 250, green: 250, blue: 245), "white")
        XCTAssertEqual(SimImage.colourName(red: 10, green: 10, blue: 20), "black")
    }
}
