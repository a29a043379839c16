import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// Handshake policy, query strings, script files, log lines, ids.
final class PlumbingTests: XCTestCase {
    func headers(_ h: [String: String]) -> (String) -> String? { { h[$0.lowercased()] } }

    func testHandshake() {
        let open = HandshakePolicy(apiKey: nil)
        let keyed = HandshakePolicy(apiKey: "sk-test")
        let path = "/api-ws/v1/realtime?model=qwen3-omni-flash-realtime"
        XCTAssertEqual(open.decide(uri: path, header: headers(["authorization": "Bearer anything"])),
                       .accept(model: "qwen3-omni-flash-realtime", fault: nil))
        XCTAssertEqual(keyed.decide(uri: path, header: headers(["authorization": "bearer sk-test"])),
                       .accept(model: "qwen3-omni-flash-realtime", fault: nil), "SDK 1.24.6 sends lower-case bearer")
        func status(_ d: HandshakeDecision) -> Int? { if case .reject(let s, _) = d { s } else { nil } }
        XCTAssertEqual(status(keyed.decide(uri: path, header: headers(["authorization": "Bearer sk-wrong"]))), 401)
        XCTAssertEqual(status(keyed.decide(uri: path, header: headers([:]))), 401)
        XCTAssertEqual(status(open.decide(uri: path, header: headers([:]))), 401, "a key is always required")
        XCTAssertEqual(status(open.decide(uri: path, header: headers(["authorization": "Basic abc"]))), 401)
        XCTAssertEqual(status(open.decide(uri: path, header: headers(["authorization": "Bearer "]))), 401)
        XCTAssertEqual(status(open.decide(uri: "/api-ws/v1/realtime", header: headers(["authorization": "Bearer k"]))), 400)
        XCTAssertEqual(status(open.decide(uri: "/v1/realtime?model=x", header: headers(["authorization": "Bearer k"]))), 404)
        XCTAssertEqual(status(open.decide(uri: path + "&fault=nope", header: headers(["authorization": "Bearer k"]))), 400)
        // Query given separately (as LWSServer does).
        XCTAssertEqual(open.decide(uri: "/api-ws/v1/realtime", query: "model=m&fault=stall_mid_answer",
                                   header: headers(["authorization": "Bearer k"])),
                       .accept(model: "m", fault: FaultPlan(kind: .stallMidAnswer)))
        // The control file applies when the query has no fault.
        XCTAssertEqual(open.decide(uri: path, header: headers(["authorization": "Bearer k"]), controlFile: "fault=rate_limit"),
                       .accept(model: "qwen3-omni-flash-realtime", fault: FaultPlan(kind: .rateLimit)))
    }

    func testQueryString() {
        let q = QueryString.parse("?model=a%2Fb&x=1+2&flag&=v")
        XCTAssertEqual(q.map(\.name), ["model", "x", "flag", ""])
        XCTAssertEqual(q.map(\.value), ["a/b", "1 2", "", "v"])
    }

    func testScriptFile() throws {
        let entries = try ScriptFile.parse("""
            # greeting
            transcript: Hello! Is there anything I can help you with?
            audio: hello.s16le
            user: Hi.
            ---
            transcript: Bye.
            """)
        XCTAssertEqual(entries, [
            ScriptEntry(transcript: "Hello! Is there anything I can help you with?", audioPath: "hello.s16le", userTranscript: "Hi."),
            ScriptEntry(transcript: "Bye."),
        ])
        XCTAssertThrowsError(try ScriptFile.parse("audio: x.raw\n"))
        XCTAssertThrowsError(try ScriptFile.parse("transcript: a\nvolume: 3\n"))
        XCTAssertThrowsError(try ScriptFile.parse("# empty\n"))
        XCTAssertEqual(ScriptFile.samples(fromRaw: [0x01, 0x00, 0xFF, 0xFF, 0x7F]), [1, -1])
        XCTAssertEqual(ScriptFile.silence(for: "two words").count, 14_400)
    }

    func testLogLine() throws {
        let event = try JSONParser.parse(#"{"type":"input_audio_buffer.append","audio":"AAAAAA=="}"#)
        let full = EventLog.line(tMs: 12.3456789, conn: 3, dir: "client", event: event)
        XCTAssertEqual(full, #"{"t_ms":12.346,"conn":3,"dir":"client","event":{"type":"input_audio_buffer.append","audio":"AAAAAA=="}}"#)
        let redacted = EventLog.line(tMs: 1, conn: 3, dir: "client", event: event, logAudio: false)
        XCTAssertEqual(redacted, #"{"t_ms":1.0,"conn":3,"dir":"client","event":{"type":"input_audio_buffer.append","audio":4}}"#)
        let delta = try JSONParser.parse(#"{"type":"response.audio.delta","delta":"AAAA"}"#)
        XCTAssertEqual(EventLog.redacted(delta).objectValue?["delta"], .int(3))
        let text = try JSONParser.parse(#"{"type":"response.audio_transcript.delta","delta":"Hi"}"#)
        XCTAssertEqual(EventLog.redacted(text), text, "text deltas are kept")
        XCTAssertEqual(EventLog.decodedLength(Base64.encode([1, 2, 3, 4, 5])), 5)
        XCTAssertEqual(EventLog.decodedLength(Base64.encode([1, 2, 3, 4])), 4)
    }

    func testIDs() {
        var g = IDGenerator(seed: 1)
        let id = g.event()
        XCTAssertTrue(id.hasPrefix("event_"))
        XCTAssertEqual(id.count, 27)
        XCTAssertTrue(id.dropFirst(6).allSatisfy { $0.isLetter || $0.isNumber })
        XCTAssertNotEqual(g.event(), id)
        var g2 = IDGenerator(seed: 1)
        XCTAssertEqual(g2.event(), id)
        XCTAssertTrue(g.make("resp").hasPrefix("resp_"))
    }

    func testWordSplit() {
        XCTAssertEqual(ResponseStream.words("Once upon a time,"), ["Once", " upon", " a", " time,"])
        XCTAssertEqual(ResponseStream.words(" a  b").joined(), " a  b")
        XCTAssertEqual(ResponseStream.words(""), [])
    }
}
