#if canImport(Glibc)
import Glibc
#endif
import OmniCore
@testable import OmniLinux
import XCTest

/// The keyboard button fed through a pipe (what a terminal would send).
final class ControlKeyboardTests: XCTestCase {
    struct Rig {
        let keyboard: KeyboardButton
        let writeFD: Int32
        let events: GPIOEventCollector<ButtonEvent>

        func type(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
        }

        func stop() {
            keyboard.stop()
            close(writeFD)
            close(keyboard.fd)
        }
    }

    func rig(_ gestures: GestureSettings = GestureSettings(longPress: .milliseconds(600))) throws -> Rig {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&fds), 0)
        let events = GPIOEventCollector<ButtonEvent>()
        let k = try KeyboardButton(fd: fds[0], gestures: gestures, firstRepeatGap: .milliseconds(150),
                                   repeatGap: .milliseconds(80)) { events.add($0.event) }
        try k.start()
        return Rig(keyboard: k, writeFD: fds[1], events: events)
    }

    func testSingleSpaceIsATap() throws {
        let r = try rig()
        defer { r.stop() }
        r.type(" ")
        XCTAssertEqual(r.events.wait(count: 3), [.press, .release, .tap])
    }

    func testHeldSpaceViaAutoRepeat() throws {
        let r = try rig()
        defer { r.stop() }
        r.type(" ")
        for _ in 0..<10 {
            usleep(40_000)
            r.type(" ")
        }
        // Held for about 400 ms: one press, no release while repeats come.
        XCTAssertEqual(r.events.all, [.press])
        XCTAssertEqual(r.events.wait(count: 2), [.press, .release])
        usleep(100_000)
        XCTAssertEqual(r.events.all, [.press, .release])  // too long for a tap
    }

    func testLatchedPressAndLongPress() throws {
        let r = try rig()
        defer { r.stop() }
        r.type("p")
        XCTAssertEqual(r.events.wait(count: 2, timeout: .seconds(2)), [.press, .longPress])
        r.type("r")
        XCTAssertEqual(r.events.wait(count: 3), [.press, .longPress, .release])
        r.type("tld")
        XCTAssertEqual(r.events.wait(count: 8).suffix(5), [.press, .release, .tap, .longPress, .doublePress])
    }

    func testEndOfInputIsHarmless() throws {
        let r = try rig()
        close(r.writeFD)
        usleep(50_000)
        r.keyboard.stop()
        close(r.keyboard.fd)
        XCTAssertEqual(r.events.all, [])
    }
}
