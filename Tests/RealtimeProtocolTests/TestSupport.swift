// Shared helpers: locating and reading the golden traces, a seeded random generator, and
// small assertion helpers.

import Foundation
import RealtimeProtocol
import XCTest

/// One line of a golden trace file.
struct TraceLine: Sendable {
    var file: String
    /// 1-based, as an editor shows it.
    var number: Int
    /// `client` or `server`.
    var dir: String
    /// The event `type` (pseudo-events start with `_`).
    var type: String
    /// The line with `dir`, `t_ms` and `_note` removed: the frame as it was on the wire.
    var wire: JSONObject

    var isPseudoEvent: Bool { type.hasPrefix("_") }
    var location: String { "\(file):\(number)" }
    var wireText: String { wire.serialized() }
}

struct TraceFile: Sendable {
    var name: String
    /// Lines in the file as counted from its bytes (newline-separated, non-empty).
    var physicalLineCount: Int
    var lines: [TraceLine]
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

enum Fixtures {
    /// `<repo>/Tests/Fixtures/traces`, found from this source file: `<repo>/Tests/RealtimeProtocolTests/…`.
    /// The golden traces are copies of the protocol page's §12 recordings, kept in the repository
    /// so a clone tests on its own.
    static let tracesDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // RealtimeProtocolTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/traces", isDirectory: true)
        .standardizedFileURL

    /// The scenarios the protocol document (§12) promises; more files are read if present.
    static let expectedTraceFiles = ["barge_in.jsonl", "errors.jsonl", "manual_turn.jsonl", "vad_turn.jsonl"]

    /// Parsed once per test process.
    static let loaded: Result<[TraceFile], FixtureError> = Result { () throws(FixtureError) in try load() }

    static func traces() throws -> [TraceFile] { try loaded.get() }

    static func allLines() throws -> [TraceLine] { try traces().flatMap(\.lines) }

    /// Wire frames only (pseudo-events removed).
    static func frames() throws -> [TraceLine] { try allLines().filter { !$0.isPseudoEvent } }

    private static func load() throws(FixtureError) -> [TraceFile] {
        let dir = tracesDirectory
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                .filter { $0.hasSuffix(".jsonl") }.sorted()
        } catch {
            throw FixtureError(description: """
                golden traces not found at \(dir.path) (\(error)). They are part of the repository: \
                <repo>/Tests/Fixtures/traces/*.jsonl
                """)
        }
        let missing = expectedTraceFiles.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw FixtureError(description: "trace files missing from \(dir.path): \(missing)")
        }
        var files: [TraceFile] = []
        for name in names {
            let url = dir.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw FixtureError(description: "cannot read \(url.path)")
            }
            // Count lines from the bytes, independently of the parsing below.
            var pieces = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if pieces.last?.isEmpty == true { pieces.removeLast() }
            let physical = pieces.count
            guard let text = String(data: data, encoding: .utf8) else {
                throw FixtureError(description: "\(name) is not UTF-8")
            }
            var lines: [TraceLine] = []
            for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if raw.isEmpty {
                    if i == pieces.count { continue }  // the final newline
                    throw FixtureError(description: "\(name):\(i + 1) is empty")
                }
                let value: JSONValue
                do { value = try JSONParser.parse(String(raw)) } catch {
                    throw FixtureError(description: "\(name):\(i + 1) is not JSON: \(error)")
                }
                guard var o = value.objectValue else { throw FixtureError(description: "\(name):\(i + 1) is not an object") }
                guard let dir = o["dir"]?.stringValue, dir == "client" || dir == "server" else {
                    throw FixtureError(description: "\(name):\(i + 1) has no valid dir")
                }
                guard o["t_ms"]?.intValue != nil else { throw FixtureError(description: "\(name):\(i + 1) has no t_ms") }
                guard let type = o["type"]?.stringValue else { throw FixtureError(description: "\(name):\(i + 1) has no type") }
                o["dir"] = nil
                o["t_ms"] = nil
                o["_note"] = nil
                lines.append(TraceLine(file: name, number: i + 1, dir: dir, type: type, wire: o))
            }
            files.append(TraceFile(name: name, physicalLineCount: physical, lines: lines))
        }
        return files
    }
}

/// SplitMix64: small, fast, and the same sequence on every platform.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body` and returns the typed error it throws, failing the test if it does not throw.
func expectError<E: Error, T>(_ body: () throws(E) -> T, file: StaticString = #filePath, line: UInt = #line) -> E? {
    do {
        let v = try body()
        XCTFail("expected an error, got \(v)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

func parseJSON(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
    do { return try JSONParser.parse(text) } catch {
        XCTFail("\(error) in \(text)", file: file, line: line)
        return nil
    }
}

func parseObject(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONObject? {
    guard let v = parseJSON(text, file: file, line: line) else { return nil }
    guard let o = v.objectValue else { XCTFail("not an object: \(text)", file: file, line: line); return nil }
    return o
}

/// Asserts that `encoded` is the same JSON as `expected` (numbers by value, keys in any order).
func assertSameJSON(_ encoded: String, _ expected: String, _ message: String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    guard let a = parseJSON(encoded, file: file, line: line), let b = parseJSON(expected, file: file, line: line) else { return }
    XCTAssertTrue(a.semanticallyEquals(b), "\(message)\n got: \(encoded)\nwant: \(expected)", file: file, line: line)
}

/// Replaces long strings (Base64 payloads) by a short prefix, so that fuzzing spends its time on
/// the structure rather than inside one 6 KB string.
func shrinkingLongStrings(_ v: JSONValue, limit: Int = 24) -> JSONValue {
    switch v {
    case .string(let s) where s.utf8.count > limit: return .string(String(s.prefix(limit)))
    case .array(let a): return .array(a.map { shrinkingLongStrings($0, limit: limit) })
    case .object(let o): return .object(JSONObject(o.entries.map { ($0.key, shrinkingLongStrings($0.value, limit: limit)) }))
    default: return v
    }
}
