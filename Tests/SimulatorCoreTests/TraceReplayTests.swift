import Foundation
import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// Feeds the client side of each golden trace (Tests/Fixtures/traces, protocol §12) into a
/// SimConnection at the trace's times and compares what the simulator sends with the trace's
/// server side: the same event types in the same order (a run of deltas counts as one step,
/// since delta counts depend on pacing) and, event by event, the same field names.
final class TraceReplayTests: XCTestCase {
    static var tracesDir: URL {
        // Tests/SimulatorCoreTests/<this file> → Tests/Fixtures/traces
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/traces")
    }

    struct Line {
        var dir: String
        var tMs: Double
        var object: JSONObject  // wire JSON (bookkeeping keys stripped)
        var type: String { object["type"]?.stringValue ?? "" }
    }

    func load(_ name: String) throws -> [Line] {
        let url = Self.tracesDir.appendingPathComponent(name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail("golden trace \(url.path) is missing: it belongs to the repository (Tests/Fixtures/traces)")
            throw CocoaError(.fileNoSuchFile)
        }
        return try text.split(separator: "\n").map { raw in
            var o = try JSONParser.parse(String(raw)).objectValue!
            let line = Line(dir: o["dir"]!.stringValue!, tMs: o["t_ms"]!.doubleValue!, object: JSONObject())
            o["dir"] = nil
            o["t_ms"] = nil
            o["_note"] = nil
            var l = line
            l.object = o
            return l
        }
    }

    static let deltaTypes: Set<String> = ["response.audio.delta", "response.audio_transcript.delta", "response.text.delta"]

    /// Event types with each run of deltas collapsed to "(deltas)".
    static func steps(_ objects: [JSONObject]) -> [(type: String, members: [JSONObject])] {
        var out: [(type: String, members: [JSONObject])] = []
        for o in objects {
            let t = o["type"]?.stringValue ?? ""
            if deltaTypes.contains(t) {
                if out.last?.type == "(deltas)" { out[out.count - 1].members.append(o) } else { out.append(("(deltas)", [o])) }
            } else {
                out.append((t, [o]))
            }
        }
        return out
    }

    /// Every key path of a JSON value: `session.turn_detection.threshold`, `response.output[].content[].type`.
    static func keyPaths(_ v: JSONValue, prefix: String = "") -> Set<String> {
        var out: Set<String> = []
        switch v {
        case .object(let o):
            for (k, child) in o {
                let p = prefix.isEmpty ? k : prefix + "." + k
                out.insert(p)
                out.formUnion(keyPaths(child, prefix: p))
            }
        case .array(let a):
            for child in a { out.formUnion(keyPaths(child, prefix: prefix + "[]")) }
        default: break
        }
        return out
    }

    func replay(_ name: String, options: SimOptions, file: StaticString = #filePath, line: UInt = #line) throws {
        let lines = try load(name)
        let open = lines.first { $0.type == "_ws.open" }!
        let url = open.object["url"]!.stringValue!
        let model = QueryString.value("model", in: QueryString.parse(String(url.split(separator: "?")[1])))!
        let session = SimConnection(model: model, options: options, seed: 1)

        var sent: [JSONObject] = []
        func take(_ actions: [SimAction]) {
            for a in actions {
                switch a {
                case .send(let e): sent.append(e.json)
                case .close(let code, let reason):
                    sent.append(["type": "_ws.close", "code": .int(Int64(code)), "reason": .string(reason)])
                case .imageReceived: break  // informational (the log); nothing goes on the wire
                default: XCTFail("unexpected action \(a)", file: file, line: line)
                }
            }
        }
        take(session.open())
        for l in lines where l.dir == "client" && !l.type.hasPrefix("_") {
            take(session.receive(text: l.object.serialized(), now: .ms(l.tMs)))
        }
        take(session.tick(now: .ms(lines.last!.tMs + 5000)))

        let expected = Self.steps(lines.filter { $0.dir == "server" }.map(\.object))
        let actual = Self.steps(sent)
        XCTAssertEqual(actual.map(\.type), expected.map(\.type), "\(name): event order", file: file, line: line)
        guard actual.count == expected.count else { return }
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            if a.type == "(deltas)" {
                // Same delta types present, each with the same field names.
                let byType = { (m: [JSONObject]) in
                    Dictionary(grouping: m, by: { $0["type"]!.stringValue! }).mapValues { Self.keyPaths(.object($0[0])) }
                }
                XCTAssertEqual(byType(a.members), byType(e.members), "\(name) step \(i): deltas", file: file, line: line)
            } else {
                XCTAssertEqual(Self.keyPaths(.object(a.members[0])), Self.keyPaths(.object(e.members[0])),
                               "\(name) step \(i) \(a.type): field names", file: file, line: line)
            }
        }
    }

    func options(toneMs: Int, speed: Double) -> SimOptions {
        var o = SimOptions()
        o.answer = .tone(ToneSpec(durationMs: toneMs))
        o.speed = speed
        o.firstDeltaMs = 100
        o.responseDelayMs = 20
        return o
    }

    func testVADTurn() throws {
        try replay("vad_turn.jsonl", options: options(toneMs: 1000, speed: 4))
    }

    func testManualTurn() throws {
        try replay("manual_turn.jsonl", options: options(toneMs: 1000, speed: 4))
    }

    func testBargeIn() throws {
        // Real-time pacing and a long answer, so the user's second utterance lands mid-answer.
        try replay("barge_in.jsonl", options: options(toneMs: 3000, speed: 1))
    }

    func testErrors() throws {
        // The trace has no input transcription for its manual turn (protocol §4.9: unverified on
        // flash); the simulator's knob for that reproduces it.
        var o = options(toneMs: 500, speed: 4)
        o.transcriptionInManualMode = false
        try replay("errors.jsonl", options: o)
    }

    func testKeyPathsHelper() {
        let v = try! JSONParser.parse(#"{"a":{"b":1,"c":[{"d":2}]},"e":[]}"#)
        XCTAssertEqual(Self.keyPaths(v), ["a", "a.b", "a.c", "a.c[].d", "e"])
    }
}
