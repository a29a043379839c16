#if canImport(Glibc)
import Glibc
#endif
import OmniCore
@testable import OmniLinux
import XCTest

/// The keyboard button fed through a pipe (what a terminal would send). Time is a stepped clock
/// the test sets, so "a repeat every 40 ms" and "released 80 ms after the last repeat" are
/// exact whatever the load on the machine; events are checked with the time they were decided at.
final class ControlKeyboardTests: XCTestCase {
    /// Where the test clock starts.
    static let t0 = Duration.seconds(1_000)

    struct Rig {
        let keyboard: KeyboardButton
        let writeFD: Int32
        let clock: SteppedClock
        let events: GPIOEventCollector<GestureEvent>
        let logs: GPIOTestLogStore

        func type(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
        }

        /// Returns once the keyboard thread has read everything typed so far and stamped it
        /// with the clock as it is now: the pipe is empty, and after a wake-up key the thread has
        /// read the clock twice more (stamp, then the release check; see KeyboardButton.run).
        @discardableResult
        func settle() -> Bool {
            guard eventually({ unread == 0 }) else { return false }
            let reads = clock.reads
            type("x")  // a key the keyboard ignores: wakes the thread
            return clock.waitForReads(2, since: reads) && eventually { unread == 0 }
        }

        /// Bytes in the pipe that the thread has not read yet.
        var unread: Int32 {
            var n: Int32 = 0
            _ = withUnsafeMutablePointer(to: &n) { ioctl(keyboard.fd, UInt(FIONREAD), $0) }
            return n
        }

        /// Moves the clock to t0 + ms once everything typed so far is stamped, and wakes the
        /// thread so it acts on the new time at once.
        func time(_ ms: Int) {
            XCTAssertTrue(settle(), "the keyboard thread did not read its input")
            clock.set(to: ControlKeyboardTests.t0 + .milliseconds(ms))
            type("x")
        }

        /// The first `count` events as "kind@ms" (ms since t0), waiting for them.
        func wait(_ count: Int) -> [String] {
            events.wait(count: count).map { "\($0.event.rawValue)@\(Int((($0.at - ControlKeyboardTests.t0) / .milliseconds(1)).rounded()))" }
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
        let clock = SteppedClock(Self.t0)
        let events = GPIOEventCollector<GestureEvent>()
        let logs = GPIOTestLogStore()
        let k = try KeyboardButton(fd: fds[0], gestures: gestures, clock: clock, logger: logs.logger("test.keyboard"),
                                   firstRepeatGap: .milliseconds(150), repeatGap: .milliseconds(80)) { events.add($0) }
        try k.start()
        return Rig(keyboard: k, writeFD: fds[1], clock: clock, events: events, logs: logs)
    }

    func testSingleSpaceIsATap() throws {
        let r = try rig()
        defer { r.stop() }
        r.type(" ")
        // No repeat within the first-repeat gap (150 ms): a short press, up 60 ms after it went down.
        r.time(150)
        XCTAssertEqual(r.wait(3), ["press@0", "release@60", "tap@60"])
    }

    func testHeldSpaceViaAutoRepeat() throws {
        let r = try rig()
        defer { r.stop() }
        r.type(" ")
        for i in 1...10 {  // auto-repeat every 40 ms, inside the 80 ms repeat gap
            r.time(i * 40)
            r.type(" ")
        }
        r.time(479)  // 79 ms after the last repeat: still held
        r.time(480)  // the repeat gap has passed: released, 60 ms after the last key
        // Held 460 ms: too long for a tap. A typed tap comes next, so nothing else came before it.
        r.time(1_000)
        r.type("t")
        XCTAssertEqual(r.wait(5), ["press@0", "release@460", "press@1000", "release@1000", "tap@1000"])
    }

    func testLatchedPressAndLongPress() throws {
        let r = try rig()
        defer { r.stop() }
        r.type("p")
        r.time(600)
        XCTAssertEqual(r.wait(2), ["press@0", "longPress@600"])
        r.type("r")
        XCTAssertEqual(r.wait(3), ["press@0", "longPress@600", "release@600"])
        r.time(700)
        r.type("tld")
        XCTAssertEqual(r.wait(8), ["press@0", "longPress@600", "release@600",
                                   "press@700", "release@700", "tap@700", "longPress@700", "doublePress@700"])
    }

    func testEndOfInputIsHarmless() throws {
        let r = try rig()
        close(r.writeFD)
        XCTAssertTrue(eventually { r.logs.messages.contains("keyboard input closed") }, "\(r.logs.messages)")
        r.keyboard.stop()
        close(r.keyboard.fd)
        XCTAssertEqual(r.events.all, [])
    }
}
