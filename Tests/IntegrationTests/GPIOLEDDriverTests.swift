#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
@testable import OmniLinux
import Synchronization
import XCTest

/// Captures log lines (level and message) for assertions.
final class GPIOTestLogStore: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])
    var messages: [String] { lines.withLock { $0.map(\.1) } }
    func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in GPIOTestLogHandler(store: self) }
    }
}

struct GPIOTestLogHandler: LogHandler {
    let store: GPIOTestLogStore
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.lines.withLock { $0.append((event.level, event.message.description)) }
    }
}

final class GPIOLEDDriverTests: XCTestCase {
    func rgbConfig() -> LEDBoardConfig {
        var c = LEDBoardConfig()
        c.backend = .gpio
        c.lines = ["GPIO22", "GPIO23", "GPIO24"].map { gpioTestLineRef($0, key: "leds.lines") }
        c.scheme = .colorDefaults
        return c
    }

    /// Waits for `condition` (the timeout is a hang guard).
    func waitUntil(_ condition: () -> Bool) -> Bool { eventually(condition) }

    func testSolidColourOnRGBLines() throws {
        let backend = FakeGPIOBackend()
        let driver = try LEDDriver.make(config: rgbConfig(), backend: backend)
        let r = try XCTUnwrap(backend.line("GPIO22")), g = try XCTUnwrap(backend.line("GPIO23")), b = try XCTUnwrap(backend.line("GPIO24"))
        XCTAssertEqual(r.spec.consumer, "omnid led")
        driver.show(.listening)  // solid blue
        XCTAssertTrue(waitUntil { b.level })
        XCTAssertFalse(r.level)
        XCTAssertFalse(g.level)
        driver.show(.speaking)  // solid green
        XCTAssertTrue(waitUntil { g.level && !b.level })
        XCTAssertEqual(driver.state, .speaking)
        driver.close()
        XCTAssertFalse(g.level)
        XCTAssertTrue(r.isClosed && g.isClosed && b.isClosed)
        driver.show(.error)  // after close: nothing
        driver.close()  // runs on the driver's queue after that show: a barrier
        XCTAssertFalse(r.level)
        XCTAssertFalse(r.writes.contains { $0.1 }, "red never lit")
    }

    /// The blink comes from the driver's own timer, following the pattern on the driver's clock:
    /// here a stepped clock, so "200 ms on, 200 ms off" is checked at 199 and 200 ms exactly.
    func testBlinkRunsOffTheTimer() throws {
        let backend = FakeGPIOBackend()
        let clock = SteppedClock(.seconds(1_000))
        let sink = try GPIOLEDSink(config: rgbConfig(), backend: backend)
        let driver = LEDDriver(scheme: rgbConfig().scheme, lineCount: sink.lines.count, sink: sink, clock: clock)
        defer { driver.close() }
        let g = try XCTUnwrap(backend.line("GPIO23"))
        /// The green line's levels so far (the line is written on changes only).
        var levels: [Bool] { g.writes.map(\.1) }
        driver.show(.thinking)  // cyan, blink 200/200
        XCTAssertTrue(waitUntil { levels == [true] })
        for change in 1...4 {
            let before = levels
            // Just before the change, the timer finds nothing to do (twice, to be sure one of
            // those ticks came after the clock moved) …
            clock.set(to: .seconds(1_000) + .milliseconds(200 * change - 1))
            XCTAssertTrue(clock.waitForReads(2, since: clock.reads))
            XCTAssertEqual(levels, before, "no change at \(200 * change - 1) ms")
            // … and at it, the level flips.
            clock.set(to: .seconds(1_000) + .milliseconds(200 * change))
            XCTAssertTrue(waitUntil { levels.count == change + 1 }, "no change at \(200 * change) ms: \(levels)")
            XCTAssertEqual(levels.last, change % 2 == 0, "at \(200 * change) ms")
        }
        // Asking for the same state again (at 900 ms, mid "on") does not restart the rhythm: off
        // at 1000 ms as before (a restart would keep it on until 1100 ms).
        clock.set(to: .seconds(1_000) + .milliseconds(900))
        driver.show(.thinking)
        clock.set(to: .seconds(1_000) + .milliseconds(1_000))
        XCTAssertTrue(waitUntil { levels.count == 6 }, "\(levels)")
        XCTAssertEqual(levels, [true, false, true, false, true, false])
    }

    func testSingleLEDUsesTheSingleScheme() throws {
        let backend = FakeGPIOBackend()
        var c = LEDBoardConfig()
        c.backend = .gpio
        c.lines = [gpioTestLineRef("GPIO27", key: "leds.lines")]
        c.activeLow = true
        let driver = try LEDDriver.make(config: c, backend: backend)
        defer { driver.close() }
        let l = try XCTUnwrap(backend.line("GPIO27"))
        XCTAssertTrue(l.spec.activeLow)
        driver.show(.listening)
        XCTAssertTrue(waitUntil { l.level })
    }

    func testVirtualLEDsLogEveryState() {
        let store = GPIOTestLogStore()
        let driver = LEDDriver(scheme: .singleDefaults, lineCount: 1, sink: VirtualLEDSink(logger: store.logger()),
                               logger: store.logger())
        for s: ApplianceState in [.connecting, .ready, .listening, .thinking, .speaking, .ready] { driver.show(s) }
        XCTAssertTrue(waitUntil {
            store.messages.filter { $0.hasPrefix("LED state:") }.count == 6
        })
        XCTAssertEqual(store.lines.withLock { $0.filter { $0.1.hasPrefix("LED state:") }.map(\.0) }, Array(repeating: .info, count: 6))
        XCTAssertEqual(store.messages.filter { $0.hasPrefix("LED state:") },
                       ["connecting", "ready", "listening", "thinking", "speaking", "ready"].map { "LED state: \($0)" })
        driver.close()
    }

    func testPartialOpenFailureReleasesWhatWasOpened() throws {
        let backend = FakeGPIOBackend()
        backend.failures.withLock { $0["GPIO24"] = (.request, EBUSY) }
        XCTAssertThrowsError(try LEDDriver.make(config: rgbConfig(), backend: backend))
        XCTAssertEqual(backend.line("GPIO22")?.isClosed, true)
        XCTAssertEqual(backend.line("GPIO23")?.isClosed, true)
    }
}
