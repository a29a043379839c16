import XCTest
@testable import OmniCore
import OmniTOML

/// The board file's [button] and [leds] sections, through the real config loader.
final class ApplianceBoardConfigTests: XCTestCase {
    func board(_ text: String, mode: String = "push-to-talk") throws -> (OmniConfig, BoardIOConfig) {
        let env = ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { $0 == "/boards/test.toml" ? text : nil }, fileMode: { _ in nil },
                                    environment: [:], boardDirectory: "/boards")
        let loaded = try ConfigLoader.load(text: "[board]\nname = \"test\"\n[session]\nmode = \"\(mode)\"\n",
                                           path: "/etc/omni.conf", env: env)
        return (loaded.config, try BoardIOConfig.parse(loaded.config.board))
    }

    func error(_ text: String) -> String {
        do {
            _ = try board(text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testNoSectionsMeanNoButtonAndVirtualLEDs() throws {
        let (_, b) = try board("")
        XCTAssertEqual(b.button.backend, .none)
        XCTAssertEqual(b.leds.backend, .virtual)
        XCTAssertEqual(b.leds.scheme, .singleDefaults)
        XCTAssertEqual(b.button.gestures, GestureSettings())
    }

    func testFullBoard() throws {
        let (config, b) = try board("""
            [button]
            line = "GPIO17"
            active_low = true
            bias = "pull-up"
            debounce_ms = 30
            long_press_ms = 2500
            double_press_ms = 350
            tap_max_ms = 300
            long_press = "reconnect"
            double_press = "mute"
            min_turn_ms = 200
            max_turn_s = 45

            [leds]
            chip = "gpiochip0"
            lines = [22, 23, 24]
            listening = "blink 100/100 white"
            ready = { pattern = "heartbeat", period_ms = 2000, color = "blue" }

            [leds.error]
            pattern = "solid"
            color = "red"
            """)
        XCTAssertEqual(b.button.backend, .gpio)
        XCTAssertEqual(b.button.line?.name, "GPIO17")
        XCTAssertNil(b.button.line?.chip)
        XCTAssertEqual(b.button.line?.location.key, "button.line")
        XCTAssertEqual(b.button.line?.location.line, 2)
        XCTAssertEqual(b.button.bias, .pullUp)
        XCTAssertEqual(b.button.gestures, GestureSettings(debounce: .milliseconds(30), longPress: .milliseconds(2500),
                                                          tapMax: .milliseconds(300), doublePressWindow: .milliseconds(350),
                                                          detectDoublePress: true))
        XCTAssertEqual(b.leds.backend, .gpio)
        XCTAssertEqual(b.leds.lines.map(\.offset), [22, 23, 24])
        XCTAssertEqual(b.leds.lines.first?.chip, "gpiochip0")
        XCTAssertEqual(b.leds.scheme.look(for: .listening), LEDLook(.blink(on: .milliseconds(100), off: .milliseconds(100)), .white))
        XCTAssertEqual(b.leds.scheme.look(for: .ready), LEDLook(.heartbeat(period: .milliseconds(2000)), .blue))
        XCTAssertEqual(b.leds.scheme.look(for: .error), LEDLook(.solid, .red))
        XCTAssertEqual(b.leds.scheme.look(for: .thinking), LEDScheme.colorDefaults.look(for: .thinking))
        let s = ApplianceSettings(config: config, board: b)
        XCTAssertEqual(s.mode, .pushToTalk)
        XCTAssertEqual(s.minTurn, .milliseconds(200))
        XCTAssertEqual(s.maxTurn, .seconds(45))
        XCTAssertEqual(s.longPressAction, .reconnect)
        XCTAssertEqual(s.doublePressAction, .mute)
    }

    func testKeyboardBackendAndVirtualLEDs() throws {
        let (_, b) = try board("[button]\nbackend = \"keyboard\"\n[leds]\nbackend = \"virtual\"\nlistening = \"solid\"\n")
        XCTAssertEqual(b.button.backend, .keyboard)
        XCTAssertEqual(b.leds.backend, .virtual)
    }

    func testErrorsNameFileLineAndKey() {
        XCTAssertEqual(error("[button]\nline = 17\n"),
                       "/boards/test.toml:2: button.line: a line offset (17) needs `chip` in the same section (e.g. chip = \"gpiochip0\"), or use the line's name")
        XCTAssertEqual(error("[button]\nline = \"GPIO17\"\nbias = \"up\"\n"),
                       "/boards/test.toml:3: button.bias: must be one of as-is, disable, pull-up, pull-down, not \"up\"")
        XCTAssertEqual(error("[button]\nlong_pres = \"mute\"\n"),
                       "/boards/test.toml:2: button.long_pres: unknown key in [button]; did you mean long_press?")
        XCTAssertEqual(error("[button]\nlong_press = \"explode\"\n"),
                       "/boards/test.toml:2: button.long_press: must be one of none, mute, reconnect, interrupt, look, not \"explode\"")
        XCTAssertEqual(error("[button]\ndebounce_ms = 5000\n"),
                       "/boards/test.toml:2: button.debounce_ms: must be between 0 and 500, not 5000")
        XCTAssertEqual(error("[button]\nbackend = \"gpio\"\n"),
                       "/boards/test.toml:2: button.line: is required with backend = \"gpio\" (a line name such as \"GPIO17\", or an offset with chip)")
        XCTAssertEqual(error("[leds]\nlistening = \"strobe\"\n"),
                       "/boards/test.toml:2: leds.listening: unknown pattern \"strobe\"; use off, solid, blink ON/OFF or heartbeat [PERIOD], then a colour")
        XCTAssertEqual(error("[leds]\nthinking = \"blink fast\"\n"),
                       "/boards/test.toml:2: leds.thinking: blink takes ON/OFF in milliseconds, e.g. \"blink 200/800\", not \"fast\"")
        XCTAssertEqual(error("[leds]\nready = \"solid purple\"\n"),
                       "/boards/test.toml:2: leds.ready: unexpected \"purple\"; colours are off, red, green, blue, yellow, cyan, magenta, white")
        XCTAssertEqual(error("[leds]\nlines = [\"A\", \"B\", \"C\", \"D\"]\n"),
                       "/boards/test.toml:2: leds.lines: at most 3 lines (red, green, blue); 4 given")
        XCTAssertEqual(error("[leds]\nbackend = \"gpio\"\n"),
                       "/boards/test.toml:2: leds.lines: is required with backend = \"gpio\" (e.g. lines = [\"GPIO22\"])")
        XCTAssertTrue(error("[leds]\nspeaking = { pattern = \"blink\", on_ms = \"x\" }\n").contains("on_ms must be an integer"))
    }

    func testLookStrings() throws {
        let at = ConfigLocation(file: "f", line: 1, key: "leds.x")
        func look(_ s: String) throws -> LEDLook {
            let (_, b) = try board("[leds]\nready = \"\(s)\"\n")
            _ = at
            return b.leds.scheme.look(for: .ready)
        }
        XCTAssertEqual(try look("off"), LEDLook(.off))
        XCTAssertEqual(try look("solid green"), LEDLook(.solid, .green))
        XCTAssertEqual(try look("blink"), LEDLook(.blink(on: .milliseconds(500), off: .milliseconds(500))))
        XCTAssertEqual(try look("Blink 50/950 Red"), LEDLook(.blink(on: .milliseconds(50), off: .milliseconds(950)), .red))
        XCTAssertEqual(try look("heartbeat 1000 cyan"), LEDLook(.heartbeat(period: .milliseconds(1000)), .cyan))
    }
}
