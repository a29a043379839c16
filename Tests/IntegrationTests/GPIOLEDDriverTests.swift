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

    func waitUntil(_ timeout: Duration = .seconds(2), _ condition: () -> Bool) -> Bool {
        let clock = SystemMonotonicClock()
        let end = clock.now() + timeout
        while clock.now() < end {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }

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
        usleep(50_000)
        XCTAssertFalse(r.level)
    }

    func testBlinkRunsOffTheTimer() throws {
        let backend = FakeGPIOBackend()
        let driver = try LEDDriver.make(config: rgbConfig(), backend: backend)
        defer { driver.close() }
        let g = try XCTUnwrap(backend.line("GPIO23"))
        driver.show(.thinking)  // cyan, blink 200/200
        XCTAssertTrue(waitUntil(.seconds(3)) { g.writes.count >= 5 })
        let w = g.writes
        XCTAssertEqual(w.prefix(5).map(\.1), [true, false, true, false, true])
        // Each change lands about 200 ms after the previous one (timer, not polling).
        for i in 1..<5 {
            let gap = w[i].0 - w[i - 1].0
            XCTAssertGreaterThan(gap, .milliseconds(150), "\(gap)")
            XCTAssertLessThan(gap, .milliseconds(400), "\(gap)")
        }
        // Asking for the same state again does not restart the rhythm.
        let before = g.writes.count
        driver.show(.thinking)
        usleep(50_000)
        XCTAssertLessThanOrEqual(g.writes.count, before + 1)
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
