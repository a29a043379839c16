import Foundation
import XCTest
@testable import OmniCore
import OmniTOML

/// `[session] barge_in = "voice" | "button" | "off"`: parsed with the real toml++ parser,
/// errors carry file:line:key, the effective config prints it, the documented file names it.
final class BargeInConfigTests: XCTestCase {
    func load(_ text: String) throws(ConfigError) -> OmniConfig {
        let env = ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { _ in nil }, boardDirectory: "/boards")
        return try ConfigLoader.load(text: text, path: "/etc/omni.conf", env: env).config
    }

    func testDefaultIsVoice() throws {
        let c = try load("")
        XCTAssertEqual(c.session.bargeIn, .voice)
        XCTAssertTrue(c.effectiveTOML.contains("mode = \"push-to-talk\"\nbarge_in = \"voice\"\n"), c.effectiveTOML)
    }

    func testEachValueIsReadAndPrinted() throws {
        for v in BargeInMode.allCases {
            let c = try load("[session]\nmode = \"vad\"\nbarge_in = \"\(v.rawValue)\"\n")
            XCTAssertEqual(c.session.bargeIn, v)
            XCTAssertTrue(c.effectiveTOML.contains("barge_in = \"\(v.rawValue)\"\n"), c.effectiveTOML)
            // What check-config prints loads back to the same value.
            XCTAssertEqual(try load(c.effectiveTOML).session.bargeIn, v)
        }
    }

    func testBadValueNamesFileLineKeyAndTheChoices() {
        XCTAssertThrowsError(try load("[session]\n\nbarge_in = \"buton\"\n")) { e in
            XCTAssertEqual("\(e)", "/etc/omni.conf:3: session.barge_in: \"buton\" is not allowed; allowed: \"voice\", "
                           + "\"button\", \"off\" (did you mean \"button\"?)")
        }
        XCTAssertThrowsError(try load("[session]\nbarge_in = true\n")) { e in
            XCTAssertTrue("\(e)".hasPrefix("/etc/omni.conf:2: session.barge_in: must be a string"), "\(e)")
        }
    }

    func testMisspelledKeyGetsADidYouMean() {
        XCTAssertThrowsError(try load("[session]\nbargein = \"off\"\n")) { e in
            XCTAssertTrue("\(e)".contains("session.bargein: unknown key; did you mean barge_in?"), "\(e)")
        }
    }

    func testTheShippedConfigDocumentsEveryValue() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let conf = try String(contentsOf: root.appendingPathComponent("etc/omni.conf"), encoding: .utf8)
        XCTAssertTrue(conf.contains("# barge_in = \"voice\"\n"), "etc/omni.conf shows the default")
        for v in BargeInMode.allCases { XCTAssertTrue(conf.contains("\"\(v.rawValue)\""), "etc/omni.conf explains \(v)") }
    }
}
