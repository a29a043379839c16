// Base64 and PCM16 helpers.

import Foundation
import RealtimeProtocol
import XCTest

final class PayloadTests: XCTestCase {
    /// RFC 4648 §10.
    private let rfc4648: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    func testRFC4648Vectors() {
        for (plain, encoded) in rfc4648 {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded, plain)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
            // Padding is optional on input.
            let unpadded = String(encoded.prefix { $0 != "=" })
            XCTAssertEqual(Base64.decode(unpadded), Array(plain.utf8), unpadded)
            XCTAssertEqual(Base64.encodedLength(plain.utf8.count), encoded.utf8.count)
        }
    }

    func testAllByteValuesAndAlphabet() {
        let all = (0...255).map(UInt8.init)
        let encoded = Base64.encode(all)
        XCTAssertEqual(encoded, Data(all).base64EncodedString())
        XCTAssertEqual(Base64.decode(encoded), all)
        XCTAssertEqual(Base64.encode([0xFB, 0xFF, 0xBF]), "+/+/", "standard alphabet, not URL-safe")
        XCTAssertEqual(Base64.decode("+/+/"), [0xFB, 0xFF, 0xBF])
    }

    func testRandomRoundTripsAgreeWithFoundation() {
        var rng = SeededGenerator(seed: 4648)
        for n in 0..<260 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let encoded = Base64.encode(bytes)
            XCTAssertEqual(encoded, Data(bytes).base64EncodedString(), "length \(n)")
            XCTAssertEqual(Base64.decode(encoded), bytes, "length \(n)")
        }
        // A realistic 100 ms mic chunk and output delta.
        for n in [3200, 4800] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
    }

    func testEncodeAppendsToExistingBuffer() {
        var out = Array("xy".utf8)
        [UInt8]([0x66, 0x6F]).withUnsafeBytes { Base64.encode($0, into: &out) }
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "xyZm8=")
    }

    func testInvalidBase64IsNil() {
        let invalid = [
            "Z", "Zm9vY",  // 4k+1 characters can't be produced
            "Zm9v!", "Zm 9v", "Zm9v\n", "Zm9=v", "=Zm9", "Zm-_", "Zm9vYmFy\u{0}", "é",
            "=", "==", "===", "Zg=", "Zg===", "Zm8==", "Zm9v=", "Zm9v==", "Zm9vYg=",  // padding that doesn't fit
        ]
        for s in invalid { XCTAssertNil(Base64.decode(s), s.debugDescription) }
    }

    func testFailedDecodeLeavesTheBufferUnchanged() {
        var out: [UInt8] = [1, 2, 3]
        var text = "Zm9vYmFy!"
        let ok = text.withUTF8 { Base64.decode($0, into: &out) }
        XCTAssertFalse(ok)
        XCTAssertEqual(out, [1, 2, 3])
        var good = "Zm8="
        XCTAssertTrue(good.withUTF8 { Base64.decode($0, into: &out) })
        XCTAssertEqual(out, [1, 2, 3, 0x66, 0x6F])
    }

    /// Decoding into caller-owned storage (what PCM16 uses for every answer delta) gives what
    /// Foundation's decoder and the appending decoder give, and fails where they fail.
    func testDecodeIntoStorageAgreesWithFoundationAndTheAppendingDecoder() {
        var rng = SeededGenerator(seed: 20)
        var cases = ["", "Zg", "Zg==", "Zm8", "Zm8=", "QQ=", "QUI==", "A", "AAAAA", "!AAA", "A=AA", "Zm9v\n", "é", "+/+/", "-_-_"]
        for n in [0, 1, 2, 3, 4, 5, 63, 64, 65, 4800] {
            let good = Base64.encode((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
            cases += [good, String(good.dropLast()), good + "A", String(good.prefix { $0 != "=" })]
            if good.count > 8 { cases.append(String(good.prefix(4)) + "*" + String(good.dropFirst(5))) }
        }
        for c in cases {
            var text = c
            let viaStorage: [UInt8]? = text.withUTF8 { src in
                guard let n = Base64.decodedLength(src) else { return nil }
                var out = [UInt8](repeating: 0xAA, count: n)
                return out.withUnsafeMutableBytes { Base64.decode(src, to: $0) } ? out : nil
            }
            XCTAssertEqual(viaStorage, Base64.decode(c), c.debugDescription)
            if c.utf8.count % 4 == 0, let foundation = Data(base64Encoded: c) {
                XCTAssertEqual(viaStorage, Array(foundation), c.debugDescription)
            }
        }
    }

    func testDecodeIntoStorageOfTheWrongSizeFails() {
        var text = "Zm9vYmFy"  // 6 bytes
        for size in [0, 5, 7] {
            var out = [UInt8](repeating: 0, count: size)
            XCTAssertFalse(text.withUTF8 { src in out.withUnsafeMutableBytes { Base64.decode(src, to: $0) } }, "\(size)")
        }
    }

    func testPCM16SamplesAgreeWithTheBytes() {
        var rng = SeededGenerator(seed: 24)
        for n in [0, 1, 2, 3, 100, 2400] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Base64.encode(bytes)
            let expected: [Int16]? = n % 2 == 0
                ? stride(from: 0, to: n, by: 2).map { Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
                : nil
            XCTAssertEqual(PCM16.samples(fromBase64: text), expected, "\(n) bytes")
            XCTAssertEqual(PCM16.isValidBase64(text), expected != nil)
        }
    }

    func testPCM16IsLittleEndian() {
        let samples: [Int16] = [0, 1, -1, 256, .max, .min, 0x1234]
        // 00 00 | 01 00 | ff ff | 00 01 | ff 7f | 00 80 | 34 12
        XCTAssertEqual(PCM16.base64(samples), "AAABAP//AAH/fwCANBI=")
        XCTAssertEqual(Base64.decode(PCM16.base64(samples)),
                       [0x00, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x01, 0xFF, 0x7F, 0x00, 0x80, 0x34, 0x12])
        XCTAssertEqual(PCM16.samples(fromBase64: "AAABAP//AAH/fwCANBI="), samples)
        samples.withUnsafeBufferPointer { XCTAssertEqual(PCM16.base64($0), "AAABAP//AAH/fwCANBI=") }
        XCTAssertEqual(PCM16.base64([]), "")
        XCTAssertEqual(PCM16.samples(fromBase64: ""), [])
    }

    func testPCM16RejectsOddByteCountsAndBadBase64() {
        XCTAssertNil(PCM16.samples(fromBase64: "AAEC"), "3 bytes is not a whole number of samples")
        XCTAssertNil(PCM16.samples(fromBase64: "AA"), "1 byte")
        XCTAssertNil(PCM16.samples(fromBase64: "AAAA*"))
    }

    func testPCM16RandomRoundTrip() {
        var rng = SeededGenerator(seed: 16)
        let samples = (0..<1600).map { _ in Int16.random(in: .min ... .max, using: &rng) }
        XCTAssertEqual(PCM16.samples(fromBase64: PCM16.base64(samples)), samples)
    }

    /// The trace's mic tone ("300 Hz tone stands for speech") starts 0, 470, 933, 1384.
    func testTraceMicChunkDecodesToTheToneSamples() throws {
        let line = try XCTUnwrap(Fixtures.frames().first { $0.dir == "client" && $0.type == "input_audio_buffer.append" && $0.file == "manual_turn.jsonl" })
        let b64 = try XCTUnwrap(line.wire["audio"]?.stringValue)
        let samples = try XCTUnwrap(PCM16.samples(fromBase64: b64))
        XCTAssertEqual(Array(samples.prefix(4)), [0, 470, 933, 1384])
        XCTAssertEqual(PCM16.base64(samples), b64, "re-encoding the samples gives the trace's text back")
    }

    func testAudioFormatConstants() {
        XCTAssertEqual(AudioFormat.inputSampleRate, 16_000)
        XCTAssertEqual(AudioFormat.outputSampleRate, 24_000)
    }
}

/// `Base64.decodedCount` (the session's check of every audio delta) agrees with `decode`.
final class Base64ValidationTests: XCTestCase {
    func testDecodedCountAgreesWithDecode() {
        var cases = ["", "Zg", "Zg==", "Zm8", "Zm8=", "Zm9v", "QQ=", "QUI==", "QUJD=", "A", "AAAAA", "!AAA", "A=AA",
                     "AA AA", "====", "Zm9v\n", "Zm9vYg", "Zm9vYmE=", "é", "+/+/", "-_-_"]
        var rng = SystemRandomNumberGenerator()
        for n in 0..<200 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let good = Base64.encode(bytes)
            cases.append(good)
            cases.append(String(good.dropLast()))
            cases.append(good + "A")
        }
        for c in cases {
            XCTAssertEqual(Base64.decodedCount(c), Base64.decode(c)?.count, c.debugDescription)
        }
    }

    func testPCMValidityNeedsWholeSamples() {
        XCTAssertTrue(PCM16.isValidBase64(PCM16.base64([1, -2, 3])))
        XCTAssertTrue(PCM16.isValidBase64(""))
        XCTAssertFalse(PCM16.isValidBase64("AA=="), "one byte")
        XCTAssertFalse(PCM16.isValidBase64("AAAA"), "three bytes")
        XCTAssertFalse(PCM16.isValidBase64("!AAA"))
        for s in ["AA==", "AAAA", "!AAA", "AAAAA", PCM16.base64([7, 8])] {
            XCTAssertEqual(PCM16.isValidBase64(s), PCM16.samples(fromBase64: s) != nil, s)
        }
    }
}
