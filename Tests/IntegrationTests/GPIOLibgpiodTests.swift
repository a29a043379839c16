#if canImport(Glibc)
import Glibc
#endif
import OmniCore
@testable import OmniLinux
import XCTest

/// The real libgpiod shim, as far as a machine without GPIO chips allows: it is linked and
/// callable, and every way of not finding a line becomes a startup error that names the board
/// file's key and the fix.
final class GPIOLibgpiodTests: XCTestCase {
    let backend = LibgpiodBackend()
    /// The no-chip error paths can only be produced on a machine without GPIO chips; on a board
    /// they are skipped, saying so (GPIOButtonTests covers the same code through a fake shim).
    static let needsNoChips = "needs a machine without GPIO chips (checks the errors when none exist); this one has /dev/gpiochip*"

    func testVersion() {
        let v = LibgpiodBackend.versionDescription
        XCTAssertTrue(v.hasPrefix("libgpiod "), v)
        XCTAssertTrue(v.contains("API"), v)
    }

    func testLineNameNotFound() throws {
        try XCTSkipIf(gpioChipsPresent(), Self.needsNoChips)
        let spec = GPIOLineSpec(line: gpioTestLineRef("GPIO17"), bias: .pullUp, activeLow: true)
        XCTAssertThrowsError(try GPIOInputLine(backend: backend, spec: spec)) { e in
            guard let error = e as? GPIOError else { return XCTFail("\(e)") }
            XCTAssertEqual(error.stage, .line)
            XCTAssertEqual(error.code, ENOENT)
            XCTAssertTrue(error.description.hasPrefix("/boards/test.toml:3: button.line: no GPIO chips on this system"), error.description)
            XCTAssertTrue(error.description.contains("backend = \"keyboard\""), error.description)
        }
    }

    func testChipNotFound() throws {
        try XCTSkipIf(gpioChipsPresent(), Self.needsNoChips)
        let ref = GPIOLineRef(chip: "gpiochip7", name: nil, offset: 3,
                              location: ConfigLocation(file: "/boards/pi.toml", line: 9, key: "leds.lines"))
        XCTAssertThrowsError(try GPIOOutputLine(backend: backend, spec: GPIOLineSpec(line: ref))) { e in
            guard let error = e as? GPIOError else { return XCTFail("\(e)") }
            XCTAssertEqual(error.stage, .chip)
            XCTAssertEqual(error.description,
                           "/boards/pi.toml:9: leds.lines: GPIO chip \"gpiochip7\" (leds.chip) not found; list the chips with `gpiodetect` and fix leds.chip")
        }
    }

    func testLEDDriverFromABoardWithoutChipsFailsWithTheKey() throws {
        try XCTSkipIf(gpioChipsPresent(), Self.needsNoChips)
        var leds = LEDBoardConfig()
        leds.backend = .gpio
        leds.lines = [gpioTestLineRef("GPIO22", key: "leds.lines")]
        XCTAssertThrowsError(try LEDDriver.make(config: leds, backend: backend)) { e in
            XCTAssertEqual((e as? GPIOError)?.configError.key, "leds.lines")
        }
    }

    /// Messages for the failures this machine cannot produce (the shim reports them the same way).
    func testMessagesForPermissionBusyAndBias() {
        let ref = gpioTestLineRef("GPIO17")
        XCTAssertEqual(GPIOError(stage: .chip, code: EACCES, chip: "/dev/gpiochip0", line: ref).message,
                       "permission denied opening /dev/gpiochip0; add the service user to the \"gpio\" group (usermod -aG gpio USER, or SupplementaryGroups=gpio in the systemd unit) or add a udev rule giving that group /dev/gpiochip*")
        XCTAssertTrue(GPIOError(stage: .request, code: EPERM, chip: "gpiochip0", line: ref).message.contains("\"gpio\" group"))
        XCTAssertEqual(GPIOError(stage: .request, code: EINVAL, chip: "gpiochip0", line: ref, bias: .pullUp).message,
                       "the kernel refused the line settings for GPIO17 (bias \"pull-up\" needs Linux 5.5 or later and a chip that supports it); set button.bias = \"as-is\" and fit an external pull resistor")
        XCTAssertEqual(GPIOError(stage: .line, code: ENOENT, chip: "", line: ref).message,
                       "no GPIO line named \"GPIO17\" on any chip; list the line names with `gpioinfo` and fix button.line (or give button.chip and an offset)")
        let byOffset = GPIOLineRef(chip: "gpiochip0", name: nil, offset: 99,
                                   location: ConfigLocation(file: "b", line: 1, key: "button.line"))
        XCTAssertEqual(GPIOError(stage: .line, code: ENOENT, chip: "gpiochip0", line: byOffset).message,
                       "chip \"gpiochip0\" has no line 99; list its lines with `gpioinfo gpiochip0` and fix button.line")
    }
}
