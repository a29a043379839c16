// The hand-written JSON parser and serializer.

import RealtimeProtocol
import XCTest

final class JSONTests: XCTestCase {
    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        expectError({ () throws(JSONParseError) in try JSONParser.parse(text) }, file: file, line: line)
    }

    private func roundTrip(_ v: JSONValue, file: StaticString = #filePath, line: UInt = #line) {
        let text = v.serialized()
        XCTAssertEqual(parseJSON(text, file: file, line: line), v, text, file: file, line: line)
    }

    // MARK: Strings

    func testEscapes() {
        XCTAssertEqual(parseJSON(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{08}\u{0C}\n\r\t"))
        XCTAssertEqual(parseJSON(#""a\u0000b""#), .string("a\u{0}b"))
        XCTAssertEqual(parseJSON(#""plain""#), "plain")
        XCTAssertEqual(parseJSON(#""""#), "")
        // Serializer: the short escapes for " \ \n \r \t, \u00XX for the other controls, "/" as is.
        XCTAssertEqual(JSONValue.string("q\"b\\n\nr\rt\t/").serialized(), #""q\"b\\n\nr\rt\t/""#)
        XCTAssertEqual(JSONValue.string("\u{0}\u{1}\u{08}\u{0C}\u{1F}\u{7F}").serialized(), "\"\\u0000\\u0001\\u0008\\u000c\\u001f\u{7F}\"")
        for c in 0..<0x80 { roundTrip(.string("x\(Character(Unicode.Scalar(UInt8(c))))y")) }
        XCTAssertNotNil(parseError(#""\x""#))
        XCTAssertNotNil(parseError(#""\'""#))
        XCTAssertNotNil(parseError(#""abc"#))
        XCTAssertNotNil(parseError(#""abc\"#))
        XCTAssertNotNil(parseError(#""a\""#))
    }

    func testUnicode() {
        XCTAssertEqual(parseJSON(#""\u00e9\u00E9""#), "éé")
        XCTAssertEqual(parseJSON(#""\u4eca\u5929""#), "今天")
        XCTAssertEqual(parseJSON(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(parseJSON(#""\uD834\uDD1E""#), "𝄞")
        XCTAssertEqual(parseJSON(#""\uffff""#), .string("\u{FFFF}"))
        // Raw UTF-8 goes through unchanged, and is written back raw (not \u-escaped).
        let chinese = "今天天气怎么样？你好，世界 😀"
        XCTAssertEqual(parseJSON("\"\(chinese)\""), .string(chinese))
        XCTAssertEqual(JSONValue.string(chinese).serialized(), "\"\(chinese)\"")
        XCTAssertEqual(parseJSON(#"{"北京":"\u5317\u4eac"}"#)?.objectValue?["北京"], "北京")
        roundTrip(.string("mixed é 今 😀 \u{200B} \u{2028}"))
        // Broken escapes.
        XCTAssertNotNil(parseError(#""\ud83d""#), "lone high surrogate")
        XCTAssertNotNil(parseError(#""\ud83dx""#), "high surrogate followed by text")
        XCTAssertNotNil(parseError(#""\ud83d\n""#), "high surrogate followed by another escape")
        XCTAssertNotNil(parseError(#""\ud83d\u0041""#), "high surrogate followed by a non-surrogate")
        XCTAssertNotNil(parseError(#""\ude00""#), "lone low surrogate")
        XCTAssertNotNil(parseError(#""\u12""#))
        XCTAssertNotNil(parseError(#""\u12G4""#))
        XCTAssertNotNil(parseError(#""\u"#))
    }

    func testInvalidUTF8IsRepairedNotFatal() throws {
        // Only reachable through the byte API; documented leniency: U+FFFD, no error, no crash.
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        let v = try bytes.withUnsafeBufferPointer { buf throws(JSONParseError) in try JSONParser.parse(bytes: buf) }
        XCTAssertEqual(v, .string("a\u{FFFD}b"))
        let escaped: [UInt8] = Array(#""\n"#.utf8) + [0xE4, 0xBD] + [0x22]  // truncated 3-byte sequence after an escape
        XCTAssertEqual(try escaped.withUnsafeBufferPointer { buf throws(JSONParseError) in try JSONParser.parse(bytes: buf) },
                       .string("\n\u{FFFD}"))
    }

    func testControlCharactersInStringsAreRejected() {
        for c: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            let raw = String(decoding: [0x22, 0x61, c, 0x62, 0x22], as: UTF8.self)
            XCTAssertNotNil(parseError(raw), "raw 0x\(String(c, radix: 16)) in a string")
            // Also on the slow path, after an escape.
            let slow = String(decoding: [0x22, 0x5C, 0x6E, c, 0x22], as: UTF8.self)
            XCTAssertNotNil(parseError(slow), "raw 0x\(String(c, radix: 16)) after an escape")
        }
        XCTAssertEqual(parseJSON("\"a\u{7F}b\""), .string("a\u{7F}b"), "DEL is not a control character in JSON")
    }

    // MARK: Numbers

    func testNumbers() {
        XCTAssertEqual(parseJSON("0"), .int(0))
        XCTAssertEqual(parseJSON("-0"), .int(0))
        XCTAssertEqual(parseJSON("42"), .int(42))
        XCTAssertEqual(parseJSON("-17"), .int(-17))
        XCTAssertEqual(parseJSON("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(parseJSON("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(parseJSON("9223372036854775808"), .double(9223372036854775808))
        XCTAssertEqual(parseJSON("1.5"), .double(1.5))
        XCTAssertEqual(parseJSON("-0.25"), .double(-0.25))
        XCTAssertEqual(parseJSON("1e3"), .double(1000))
        XCTAssertEqual(parseJSON("1E+3"), .double(1000))
        XCTAssertEqual(parseJSON("2.5e-3"), .double(0.0025))
        XCTAssertEqual(parseJSON("0.0"), .double(0))
        XCTAssertEqual(parseJSON("1e-400"), .double(0), "underflow is representable (as zero)")
        XCTAssertEqual(parseJSON("[1,2.0,-3]"), [.int(1), .double(2), .int(-3)])
        // Up to 18 digits are summed from the bytes, longer ones parsed from text: both exact.
        for i: Int64 in [999_999_999_999_999_999, -999_999_999_999_999_999, 1_000_000_000_000_000_000,
                         -1_000_000_000_000_000_000, 100, -100, 1_234_567_890] {
            XCTAssertEqual(parseJSON(String(i)), .int(i), "\(i)")
        }

        for bad in ["01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5", "0x10", "NaN", "Infinity", "-Infinity", "1_000", "--1", "1.2.3"] {
            XCTAssertNotNil(parseError(bad), bad)
        }
        // Doubles that JSON cannot write back are rejected rather than turned into infinity.
        XCTAssertEqual(parseError("1e400")?.reason, "number out of range")
        XCTAssertNotNil(parseError("-1e400"))
        XCTAssertNotNil(parseError(#"{"temperature":1e999}"#))
    }

    func testNumberSerialization() {
        XCTAssertEqual(JSONValue.int(-5).serialized(), "-5")
        XCTAssertEqual(JSONValue.double(1).serialized(), "1.0", "a whole double stays a double")
        XCTAssertEqual(JSONValue.double(-2).serialized(), "-2.0")
        XCTAssertEqual(JSONValue.double(0.1).serialized(), "0.1")
        XCTAssertEqual(JSONValue.double(1.05).serialized(), "1.05")
        XCTAssertEqual(JSONValue.double(-0.0).serialized(), "-0.0")
        XCTAssertEqual(JSONValue.double(.nan).serialized(), "null", "JSON has no NaN")
        XCTAssertEqual(JSONValue.double(.infinity).serialized(), "null")
        // 0.1 and friends come back bit for bit; int/double stays distinct.
        for d in [0.1, 0.2, 0.3, 1.0 / 3, 0.5, 0.8, 1.05, -0.1, 1e-7, 123456.789, 1e15, 1e16, 1e21, 2.5e-300,
                  Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, Double.ulpOfOne, -0.0, 9007199254740992] {
            let text = JSONValue.double(d).serialized()
            guard case .double(let back)? = parseJSON(text) else { XCTFail("\(d) → \(text)"); continue }
            XCTAssertEqual(back.bitPattern, d.bitPattern, "\(d) → \(text)")
        }
        for i: Int64 in [.min, -1, 0, 1, 1 << 53 + 1, .max] { roundTrip(.int(i)) }
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            guard case .double(let back)? = parseJSON(JSONValue.double(d).serialized()) else { XCTFail("\(d)"); continue }
            XCTAssertEqual(back.bitPattern, d.bitPattern)
        }
    }

    // MARK: Structure

    func testLiteralsAndWhitespace() {
        XCTAssertEqual(parseJSON(" \t\r\n true \n"), true)
        XCTAssertEqual(parseJSON("false"), false)
        XCTAssertEqual(parseJSON("null"), .null)
        XCTAssertEqual(parseJSON(#" { "a" : [ 1 , { } , [ ] ] } "#), .object(["a": [1, .object([:]), []]]))
        for bad in ["tru", "nul", "True", "NULL", "nulll", "truefalse", "\u{A0}1", "\u{0B}1", "\u{0C}1"] {
            XCTAssertNotNil(parseError(bad), bad)
        }
    }

    func testTrailingGarbageIsRejected() {
        for bad in ["{} x", "{}{}", "[1]]", #""a" "b""#, "1 2", "{}\u{0}", "null,", #"{"a":1}}"#, "true false"] {
            XCTAssertEqual(parseError(bad)?.reason, "trailing characters", bad)
        }
    }

    func testMalformedStructure() {
        for bad in ["", "   ", "{", "[", "[1,]", "[,1]", #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":}"#, "{1:2}", "{a:1}",
                    #"{'a':1}"#, #"{"a":1 "b":2}"#, "[1 2]", "]", "}", ":", #"{"a":1,,"b":2}"#] {
            XCTAssertNotNil(parseError(bad), bad)
        }
    }

    func testErrorOffsets() {
        XCTAssertEqual(parseError(#"{"a":x}"#)?.offset, 5)
        XCTAssertEqual(parseError("[1,]")?.offset, 3)
        XCTAssertTrue(parseError("[1,]")?.description.contains("byte 3") ?? false)
    }

    func testNestingLimit() {
        let max = JSONParser.maxDepth
        let ok = String(repeating: "[", count: max) + String(repeating: "]", count: max)
        XCTAssertNotNil(try? JSONParser.parse(ok), "\(max) levels are allowed")
        let tooDeep = String(repeating: "[", count: max + 1) + String(repeating: "]", count: max + 1)
        XCTAssertEqual(parseError(tooDeep)?.reason, "nesting too deep")
        let objects = String(repeating: #"{"a":"#, count: max + 1) + "1" + String(repeating: "}", count: max + 1)
        XCTAssertEqual(parseError(objects)?.reason, "nesting too deep")
        // A hostile frame far deeper than the stack could take fails fast, without recursion.
        XCTAssertEqual(parseError(String(repeating: "[", count: 200_000))?.reason, "nesting too deep")
        XCTAssertEqual(parseError(String(repeating: #"{"k":["#, count: 50_000))?.reason, "nesting too deep")
    }

    func testObjectsKeepKeyOrderAndLastDuplicateWins() throws {
        let o = try XCTUnwrap(parseJSON(#"{"z":1,"a":2,"m":3,"a":4}"#)?.objectValue)
        XCTAssertEqual(o.keys, ["z", "a", "m"])
        XCTAssertEqual(o["a"], 4)
        XCTAssertEqual(JSONValue.object(o).serialized(), #"{"z":1,"a":4,"m":3}"#)
        let text = #"{"type":"x","b":[true,false,null],"a":{"y":"\u00e9","x":-1.5},"":""}"#
        XCTAssertEqual(parseJSON(text)?.serialized(), #"{"type":"x","b":[true,false,null],"a":{"y":"é","x":-1.5},"":""}"#)
        XCTAssertEqual(JSONValue.object(["k\"\n": "v"]).serialized(), #"{"k\"\n":"v"}"#)
        // Small objects check their keys linearly, larger ones with a set: the same either side
        // of the switch, for a duplicate of an early or a late key.
        for n in [2, 15, 16, 17, 40] {
            let keys = (0..<n).map { "k\($0)" }
            let body = keys.enumerated().map { #""\#($0.element)":\#($0.offset)"# }.joined(separator: ",")
            let o = try XCTUnwrap(parseJSON(#"{\#(body),"k0":"first","\#(keys[n - 1])":"last","k0":"again"}"#)?.objectValue)
            XCTAssertEqual(o.keys, keys, "\(n)")
            XCTAssertEqual(o["k0"], "again", "\(n)")
            XCTAssertEqual(o[keys[n - 1]], "last", "\(n)")
        }
    }

    /// 20 000 distinct keys plus a duplicate: all kept, in order, the last duplicate wins. That it
    /// takes linear time (a quadratic key check would take seconds) is a speed figure:
    /// bench/json/run.sh prints it for 10k…80k keys and fails on quadratic growth.
    func testManyKeysParse() throws {
        var text = "{"
        for i in 0..<20_000 { text += "\"k\(i)\":\(i)," }
        text += #""k5":-5}"#
        let o = try XCTUnwrap(JSONParser.parse(text).objectValue)
        XCTAssertEqual(o.count, 20_000)
        XCTAssertEqual(o["k5"], -5)
        XCTAssertEqual(o.keys[5], "k5")
        XCTAssertEqual(o.keys.last, "k19999")
    }

    // MARK: JSONValue / JSONObject API

    func testSemanticEquality() {
        XCTAssertTrue(JSONValue.int(1).semanticallyEquals(.double(1)))
        XCTAssertTrue(JSONValue.double(0).semanticallyEquals(.int(0)))
        XCTAssertFalse(JSONValue.int(1).semanticallyEquals(.double(1.5)))
        XCTAssertFalse(JSONValue.int(1).semanticallyEquals("1"))
        XCTAssertFalse(JSONValue.null.semanticallyEquals(false))
        XCTAssertFalse(JSONValue.int(1 << 53).semanticallyEquals(.int(1 << 53 + 1)), "ints compare exactly")
        XCTAssertTrue(JSONValue.object(["a": 1, "b": [1, 2]]).semanticallyEquals(.object(["b": [1.0, 2], "a": 1.0])))
        XCTAssertFalse(JSONValue.array([1, 2]).semanticallyEquals([2, 1]), "array order matters")
        XCTAssertFalse(JSONValue.object(["a": 1]).semanticallyEquals(.object(["a": 1, "b": .null])), "null is not absence")
        XCTAssertFalse(JSONValue.object(["a": 1, "b": 2]).semanticallyEquals(.object(["a": 1, "c": 2])))
        XCTAssertNotEqual(JSONValue.object(["a": 1, "b": 2]), .object(["b": 2, "a": 1]), "== keeps order")
    }

    func testAccessors() {
        XCTAssertEqual(JSONValue.int(3).intValue, 3)
        XCTAssertEqual(JSONValue.double(3).intValue, 3)
        XCTAssertNil(JSONValue.double(3.5).intValue)
        XCTAssertNil(JSONValue.double(.nan).intValue)
        XCTAssertNil(JSONValue.double(1e300).intValue)
        XCTAssertNil(JSONValue.string("3").intValue)
        XCTAssertEqual(JSONValue.int(3).doubleValue, 3)
        XCTAssertEqual(JSONValue.string("s").stringValue, "s")
        XCTAssertEqual(JSONValue.bool(true).boolValue, true)
        XCTAssertTrue(JSONValue.null.isNull)
        XCTAssertEqual(JSONValue.array([1]).arrayValue, [1])
        XCTAssertEqual(JSONValue.object(["a": 1]).objectValue?["a"], 1)
    }

    func testJSONObjectMutation() {
        var o: JSONObject = ["a": 1, "b": 2]
        o["a"] = 10
        o["c"] = 3
        o["b"] = nil
        XCTAssertEqual(o.keys, ["a", "c"])
        XCTAssertEqual(o["a"], 10)
        XCTAssertNil(o["b"])
        o.merge(missingFrom: ["a": 99, "d": 4])
        XCTAssertEqual(o, ["a": 10, "c": 3, "d": 4])
        XCTAssertEqual(Array(o).map(\.0), ["a", "c", "d"])
        XCTAssertEqual(o.serialized(), #"{"a":10,"c":3,"d":4}"#)
        XCTAssertTrue(JSONObject().isEmpty)
    }
}
