// A malformed frame from the network must become the right EventDecodingError, never a crash.

import RealtimeProtocol
import XCTest

final class MalformedFrameTests: XCTestCase {
    private func serverError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> EventDecodingError? {
        expectError({ () throws(EventDecodingError) in try ServerEvent.decode(text) }, file: file, line: line)
    }

    private func clientError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> EventDecodingError? {
        expectError({ () throws(EventDecodingError) in try ClientEvent.decode(text) }, file: file, line: line)
    }

    func testNotJSON() {
        for text in ["", " ", "hello", "{", #"{"type":"error""#, #"{"type":'error'}"#, "{type:\"error\"}", "\u{FEFF}{}"] {
            for err in [serverError(text), clientError(text)] {
                guard case .notJSON(let parseError)? = err else { XCTFail("\(text): \(String(describing: err))"); continue }
                XCTAssertFalse(parseError.description.isEmpty)
            }
        }
    }

    func testNotAnObject() {
        for text in ["[]", #"[{"type":"error"}]"#, "42", #""response.done""#, "null", "true"] {
            XCTAssertEqual(serverError(text), .notAnObject, text)
            XCTAssertEqual(clientError(text), .notAnObject, text)
        }
    }

    func testMissingOrNonStringType() {
        for text in ["{}", #"{"event_id":"e"}"#, #"{"type":5}"#, #"{"type":null}"#, #"{"type":["error"]}"#,
                     #"{"type":{"name":"error"}}"#, #"{"Type":"error"}"#] {
            XCTAssertEqual(serverError(text), .missingType, text)
            XCTAssertEqual(clientError(text), .missingType, text)
        }
    }

    func testWrongTypedRequiredFields() {
        let ref = #""response_id":"r","item_id":"i","output_index":0,"content_index":0"#
        XCTAssertEqual(serverError(#"{"type":"response.audio.delta",\#(ref),"delta":12345}"#),
                       .badField(event: "response.audio.delta", key: "delta", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"response.audio.delta",\#(ref)}"#),
                       .badField(event: "response.audio.delta", key: "delta", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"response.audio.delta",\#(ref),"delta":null}"#),
                       .badField(event: "response.audio.delta", key: "delta", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"response.text.delta","delta":["a"]}"#),
                       .badField(event: "response.text.delta", key: "delta", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"response.audio.delta","response_id":7,"delta":"AAAA"}"#),
                       .badField(event: "response.audio.delta", key: "response_id", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"response.audio.done","output_index":"0"}"#),
                       .badField(event: "response.audio.done", key: "output_index", expected: "an integer"))
        XCTAssertEqual(serverError(#"{"type":"input_audio_buffer.speech_started","audio_start_ms":1.5,"item_id":"i"}"#),
                       .badField(event: "input_audio_buffer.speech_started", key: "audio_start_ms", expected: "an integer"))
        XCTAssertEqual(serverError(#"{"event_id":1,"type":"session.finished"}"#),
                       .badField(event: "session.finished", key: "event_id", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"error"}"#), .badField(event: "error", key: "error", expected: "an object"))
        XCTAssertEqual(serverError(#"{"type":"error","error":"boom"}"#), .badField(event: "error", key: "error", expected: "an object"))
        XCTAssertEqual(serverError(#"{"type":"error","error":{"message":42}}"#),
                       .badField(event: "error", key: "error.message", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"session.created","session":[]}"#),
                       .badField(event: "session.created", key: "session", expected: "an object"))
        XCTAssertEqual(serverError(#"{"type":"conversation.item.created"}"#),
                       .badField(event: "conversation.item.created", key: "item", expected: "an object"))
        XCTAssertEqual(serverError(#"{"type":"conversation.item.created","item":{"id":"i","content":[{"type":"input_audio"},"x"]}}"#),
                       .badField(event: "conversation.item.created", key: "item.content[1]", expected: "an object"))
        XCTAssertEqual(serverError(#"{"type":"response.content_part.added","part":"audio"}"#),
                       .badField(event: "response.content_part.added", key: "part", expected: "an object"))
        XCTAssertEqual(serverError(#"{"type":"response.done","response":{"id":"r","output":[{"id":"i","content":[{"type":5}]}]}}"#),
                       .badField(event: "response.done", key: "response.output[0].content[0].type", expected: "a string"))
        XCTAssertEqual(serverError(#"{"type":"response.done","response":{"id":"r","usage":{"input_tokens_details":{"audio_tokens":"108"}}}}"#),
                       .badField(event: "response.done", key: "response.usage.input_tokens_details.audio_tokens", expected: "an integer"))
        XCTAssertEqual(serverError(#"{"type":"response.created","response":{"modalities":["text",1]}}"#),
                       .badField(event: "response.created", key: "response.modalities", expected: "an array of strings"))
        XCTAssertEqual(serverError(#"{"type":"session.updated","session":{"turn_detection":{"threshold":"high"}}}"#),
                       .badField(event: "session.updated", key: "session.turn_detection.threshold", expected: "a number"))
        XCTAssertEqual(serverError(#"{"type":"session.updated","session":{"turn_detection":{"create_response":"yes"}}}"#),
                       .badField(event: "session.updated", key: "session.turn_detection.create_response", expected: "true or false"))

        XCTAssertEqual(clientError(#"{"type":"input_audio_buffer.append","audio":5}"#),
                       .badField(event: "input_audio_buffer.append", key: "audio", expected: "a string"))
        XCTAssertEqual(clientError(#"{"type":"input_image_buffer.append"}"#),
                       .badField(event: "input_image_buffer.append", key: "image", expected: "a string"))
        XCTAssertEqual(clientError(#"{"type":"session.update"}"#),
                       .badField(event: "session.update", key: "session", expected: "an object"))
        XCTAssertEqual(clientError(#"{"type":"session.update","session":{"turn_detection":"server_vad"}}"#),
                       .badField(event: "session.update", key: "session.turn_detection", expected: "a valid value or null"))
        XCTAssertEqual(clientError(#"{"type":"session.update","session":{"input_audio_transcription":{"model":1}}}"#),
                       .badField(event: "session.update", key: "session.input_audio_transcription.model", expected: "a valid value or null"))
        XCTAssertEqual(clientError(#"{"type":"session.update","session":{"top_k":2.5}}"#),
                       .badField(event: "session.update", key: "session.top_k", expected: "a valid value or null"))
        XCTAssertEqual(clientError(#"{"type":"response.create","response":"now"}"#),
                       .badField(event: "response.create", key: "response", expected: "an object"))
        XCTAssertEqual(clientError(#"{"type":"response.create","response":{"instructions":false}}"#),
                       .badField(event: "response.create", key: "response.instructions", expected: "a valid value or null"))
    }

    func testErrorDescriptionsAreReadable() {
        let e = EventDecodingError.badField(event: "response.audio.delta", key: "delta", expected: "a string")
        XCTAssertEqual(e.description, #"response.audio.delta: field "delta" must be a string"#)
        XCTAssertFalse(EventDecodingError.notAnObject.description.isEmpty)
        XCTAssertFalse(EventDecodingError.missingType.description.isEmpty)
        XCTAssertTrue(EventDecodingError.notJSON(JSONParseError(offset: 3, reason: "x")).description.contains("byte 3"))
    }

    // MARK: - Fuzz-ish

    /// Decodes `bytes` along every path a frame can take; whatever succeeds must re-encode to
    /// something that decodes to the same value.
    private func exercise(_ bytes: [UInt8], dir: String, _ context: @autoclosure () -> String) -> Bool {
        var decoded = false
        // The byte-level parser (invalid UTF-8 reaches it only this way).
        let parsed: JSONValue? = bytes.withUnsafeBufferPointer { try? JSONParser.parse(bytes: $0) }
        // The String entry points, as the transport calls them.
        let text = String(decoding: bytes, as: UTF8.self)
        if dir == "client" {
            if let e = try? ClientEvent.decode(text) {
                decoded = true
                if (try? ClientEvent.decode(e.encoded())) != e { XCTFail("client round trip unstable: \(context())\n\(e.encoded())") }
            }
            if let o = parsed?.objectValue { _ = try? ClientEvent.decode(object: o) }
        } else {
            if let e = try? ServerEvent.decode(text) {
                decoded = true
                if (try? ServerEvent.decode(e.encoded())) != e { XCTFail("server round trip unstable: \(context())\n\(e.encoded())") }
            }
            if let o = parsed?.objectValue { _ = try? ServerEvent.decode(object: o) }
        }
        return decoded
    }

    /// One representative per (dir, type), with Base64 payloads shortened.
    private func representatives() throws -> [(dir: String, location: String, bytes: [UInt8])] {
        var seen: Set<String> = []
        var out: [(String, String, [UInt8])] = []
        for line in try Fixtures.frames() where seen.insert("\(line.dir) \(line.type)").inserted {
            let small = shrinkingLongStrings(.object(line.wire)).serialized()
            out.append((line.dir, line.location, Array(small.utf8)))
        }
        return out
    }

    func testTruncatedFramesNeverCrash() throws {
        // Every prefix of a representative of each event type…
        var attempts = 0
        for rep in try representatives() {
            for n in 0..<rep.bytes.count {
                XCTAssertFalse(exercise(Array(rep.bytes[..<n]), dir: rep.dir, "\(rep.location) cut at \(n)"),
                               "\(rep.location): a truncated object must not decode (cut at \(n))")
                attempts += 1
            }
            XCTAssertTrue(exercise(rep.bytes, dir: rep.dir, rep.location), "\(rep.location) shrunk")
        }
        // …and every full trace line cut at spread-out positions and near its end.
        for line in try Fixtures.frames() {
            let bytes = Array(line.wireText.utf8)
            var cuts = Set(stride(from: 0, to: bytes.count, by: max(1, bytes.count / 8)))
            cuts.formUnion(max(0, bytes.count - 12)..<bytes.count)
            for n in cuts.sorted() {
                XCTAssertFalse(exercise(Array(bytes[..<n]), dir: line.dir, "\(line.location) cut at \(n)"))
                attempts += 1
            }
        }
        XCTAssertGreaterThan(attempts, 1000)
    }

    func testRandomByteMutationsNeverCrash() throws {
        var rng = SeededGenerator(seed: 0x0DDC_0FFE_E15B_AD00)
        // Bytes that change JSON structure, plus ones that break UTF-8.
        let interesting: [UInt8] = Array(#"{}[]",:\"0123456789-+.eEtrufalsn "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xE4, 0xF0, 0xFF]
        // Whole tokens: huge exponents, escapes, surrogates, nulls, nesting.
        let tokens = ["e999", "1e400", ".5", "-0", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\n", "null", "\"\"", "[", "]",
                      "{\"x\":", "}", "[]", "{}", ",\"k\":null", ",\"k\":[1,{\"y\":2.50}]", "今", "😀"]
        var decodedCount = 0, attempts = 0
        for rep in try representatives() {
            for _ in 0..<150 {
                var bytes = rep.bytes
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes[i] = interesting.randomElement(using: &rng)!
                    case 2: bytes.remove(at: i)
                    case 3: bytes.insert(interesting.randomElement(using: &rng)!, at: i)
                    default: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!.utf8, at: i)
                    }
                    if bytes.isEmpty { bytes = [0x7B] }
                }
                if exercise(bytes, dir: rep.dir, "\(rep.location) mutated: \(String(decoding: bytes, as: UTF8.self))") {
                    decodedCount += 1
                }
                attempts += 1
            }
        }
        // Both outcomes happen: the loop exercises decoders, not just the JSON syntax check.
        XCTAssertGreaterThan(decodedCount, attempts / 20)
        XCTAssertLessThan(decodedCount, attempts)
    }

    /// Every number in every representative frame replaced by edge-case numbers: decoding either
    /// fails cleanly or yields a value that survives encode → decode.
    func testEdgeCaseNumbersInEveryNumericField() throws {
        let replacements = ["1e400", "-1e400", "1e-400", "-0", "-0.0", "0.1", "1.0", "2.5", "-7", "1e2", "9e15", "9.5e15",
                            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890"]
        var attempts = 0
        for rep in try representatives() {
            for range in numberRanges(in: rep.bytes) {
                for r in replacements {
                    var bytes = rep.bytes
                    bytes.replaceSubrange(range, with: Array(r.utf8))
                    _ = exercise(bytes, dir: rep.dir, "\(rep.location): number at \(range) → \(r)")
                    attempts += 1
                }
            }
        }
        XCTAssertGreaterThan(attempts, 500)
    }

    /// Byte ranges of the number literals of a compact JSON text.
    private func numberRanges(in bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0, inString = false
        while i < bytes.count {
            let c = bytes[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                i += 1
            } else if c == UInt8(ascii: "\"") {
                inString = true
                i += 1
            } else if c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                let start = i
                while i < bytes.count, Array("0123456789.eE+-".utf8).contains(bytes[i]) { i += 1 }
                out.append(start..<i)
            } else {
                i += 1
            }
        }
        return out
    }

    func testRandomGarbageNeverCrashes() {
        var rng = SeededGenerator(seed: 42)
        let alphabet: [UInt8] = Array(#"{}[]",:\"0123456789-.eEtrufalsn uU"#.utf8) + [0x80, 0xFF]
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<40, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            _ = exercise(bytes, dir: Bool.random(using: &rng) ? "client" : "server", String(decoding: bytes, as: UTF8.self))
        }
    }
}
