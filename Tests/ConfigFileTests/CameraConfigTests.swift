import Foundation
import XCTest
@testable import OmniCore
import OmniTOML

/// The [camera] section through the real loader: defaults, ranges, the device forms, the
/// privacy LED from a board file, and the look gesture `when = "look"` depends on.
final class CameraConfigTests: XCTestCase {
    func load(_ text: String, board: String? = nil) throws -> OmniConfig {
        let env = ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { $0 == "/boards/test.toml" ? board : nil },
                                    boardDirectory: "/boards")
        let head = board == nil ? "" : "[board]\nname = \"test\"\n"
        return try ConfigLoader.load(text: head + text, path: "/etc/omni.conf", env: env).config
    }

    func error(_ text: String, board: String? = nil) -> String {
        do {
            _ = try load(text, board: board)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testDefaultsAreNoCamera() throws {
        let c = try load("").camera
        XCTAssertEqual(c.device, .none)
        XCTAssertFalse(c.enabled)
        XCTAssertEqual(c.fps, 1)
        XCTAssertEqual(c.maxWidth, 1280)
        XCTAssertEqual(c.maxHeight, 720)
        XCTAssertEqual(c.when, .turn)
        XCTAssertEqual(c.privacyLED, .none)
        XCTAssertEqual(c.frameInterval, .seconds(1))
    }

    func testDeviceForms() throws {
        XCTAssertEqual(try load("[camera]\ndevice = \"auto\"").camera.device, .auto)
        XCTAssertEqual(try load("[camera]\ndevice = \"/dev/video2\"").camera.device, .v4l2(path: "/dev/video2"))
        XCTAssertEqual(try load("[camera]\ndevice = \"file:/srv/frames\"").camera.device, .files(directory: "/srv/frames"))
        XCTAssertEqual(error("[camera]\ndevice = \"video0\""),
                       "/etc/omni.conf:2: camera.device: \"video0\" is not allowed; allowed: \"none\", \"auto\", a device path such as \"/dev/video0\", or \"file:DIR\" (JPEG files of a directory)")
        XCTAssertTrue(error("[camera]\ndevice = \"file:\"").contains("is not allowed"))
    }

    func testRanges() throws {
        let c = try load("[camera]\ndevice = \"auto\"\nfps = 2\nmax_width = 1920\nmax_height = 1080\njpeg_quality = 60").camera
        XCTAssertEqual(c.fps, 2)
        XCTAssertEqual(c.frameInterval, .milliseconds(500))
        XCTAssertEqual(c.maxWidth, 1920)
        XCTAssertEqual(c.jpegQuality, 60)
        XCTAssertEqual(try load("[camera]\nfps = 0.2").camera.frameInterval, .seconds(5))
        XCTAssertEqual(error("[camera]\nfps = 3"), "/etc/omni.conf:2: camera.fps: 3.0 is out of range; allowed 0.2 to 2.0")
        XCTAssertEqual(error("[camera]\nmax_width = 3840"), "/etc/omni.conf:2: camera.max_width: 3840 is out of range; allowed 160 to 1920")
        XCTAssertEqual(error("[camera]\nmax_height = 2160"), "/etc/omni.conf:2: camera.max_height: 2160 is out of range; allowed 120 to 1080")
        XCTAssertTrue(error("[camera]\njpeg_quality = 100").contains("allowed 20 to 95"))
        XCTAssertTrue(error("[camera]\nwhen = \"always\"").contains("allowed: \"turn\", \"look\""))
        XCTAssertTrue(error("[camera]\nfsp = 1").contains("did you mean fps?"))
    }

    func testPrivacyLEDFromTheBoardFileAndOverrides() throws {
        let board = "[camera]\nprivacy_led = \"GPIO22\"\nprivacy_led_active_low = true\n"
        let c = try load("[camera]\ndevice = \"auto\"", board: board).camera
        guard case .gpio(let ref, let activeLow) = c.privacyLED else { return XCTFail("\(c.privacyLED)") }
        XCTAssertEqual(ref.name, "GPIO22")
        XCTAssertEqual(ref.location.file, "/boards/test.toml")
        XCTAssertTrue(activeLow)
        // omni.conf adds the chip without repeating the line.
        guard case .gpio(let ref2, _) = try load("[camera]\nprivacy_led_chip = \"gpiochip4\"", board: board).camera.privacyLED
        else { return XCTFail() }
        XCTAssertEqual(ref2.chip, "gpiochip4")
        XCTAssertEqual(try load("[camera]\nprivacy_led = \"none\"", board: board).camera.privacyLED, CameraPrivacyLED.none)
        XCTAssertEqual(try load("[camera]\nprivacy_led = \"virtual\"").camera.privacyLED, .virtual)
        XCTAssertTrue(error("[camera]\nprivacy_led = 5").contains("needs privacy_led_chip"))
        guard case .gpio(let ref3, false) = try load("[camera]\nprivacy_led = 5\nprivacy_led_chip = \"gpiochip0\"").camera.privacyLED
        else { return XCTFail() }
        XCTAssertEqual(ref3.offset, 5)
    }

    func testLookNeedsALookGesture() throws {
        XCTAssertEqual(error("[camera]\ndevice = \"auto\"\nwhen = \"look\"", board: "[button]\nbackend = \"none\""),
                       "/etc/omni.conf:5: camera.when: \"look\" needs a look gesture on the board: set [button] double_press = \"look\" (or long_press = \"look\") in the board file, or use when = \"turn\"")
        let c = try load("[camera]\ndevice = \"auto\"\nwhen = \"look\"", board: "[button]\nbackend = \"none\"\ndouble_press = \"look\"")
        XCTAssertEqual(c.camera.when, .look)
        let b = try BoardIOConfig.parse(c.board)
        XCTAssertEqual(b.button.doublePressAction, .look)
        XCTAssertTrue(b.button.gestures.detectDoublePress, "a look gesture needs double-press detection")
        // Without a camera the setting is moot.
        XCTAssertNoThrow(try load("[camera]\nwhen = \"look\""))
    }

    func testEffectiveTOMLRoundTrips() throws {
        let text = "[camera]\ndevice = \"file:/tmp/f\"\nfps = 0.5\nmax_width = 640\nmax_height = 480\njpeg_quality = 70\nprivacy_led = \"GPIO5\"\nprivacy_led_chip = \"gpiochip0\"\n"
        let c = try load(text)
        XCTAssertTrue(c.effectiveTOML.contains("[camera]\ndevice = \"file:/tmp/f\"\nfps = 0.5\nmax_width = 640\nmax_height = 480\njpeg_quality = 70\nwhen = \"turn\"\nprivacy_led = \"GPIO5\"\nprivacy_led_chip = \"gpiochip0\"\nprivacy_led_active_low = false\n"), c.effectiveTOML)
        // What check-config prints loads back to the same camera.
        let again = try load("[camera]" + c.effectiveTOML.components(separatedBy: "[camera]")[1])
        XCTAssertEqual(again.camera.device, c.camera.device)
        XCTAssertEqual(again.camera.fps, c.camera.fps)
        XCTAssertEqual(try load("").effectiveTOML.hasSuffix("[camera]\ndevice = \"none\"\n"), true)
    }
}
