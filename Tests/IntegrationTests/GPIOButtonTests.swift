#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
@testable import OmniLinux
import XCTest

/// The Swift GPIO layer (GPIOInputLine + GPIOButton's thread) driven through the fake shim:
/// edges with kernel-style timestamps, contact bounce, long and double presses.
final class GPIOButtonTests: XCTestCase {
    let clock = SystemMonotonicClock()
    /// Short gesture times so the tests run quickly; debounce as on the device.
    let gestures = GestureSettings(debounce: .milliseconds(20), longPress: .milliseconds(300), tapMax: .milliseconds(200),
                                   doublePressWindow: .milliseconds(150), detectDoublePress: false)

    struct Rig {
        let backend: FakeGPIOBackend
        let fake: FakeGPIOLine
        let button: GPIOButton
        let events: GPIOEventCollector<ButtonEvent>
    }

    func rig(_ settings: GestureSettings? = nil, initiallyPressed: Bool = false) throws -> Rig {
        let backend = FakeGPIOBackend()
        backend.initialLevel.withLock { $0["GPIO17"] = initiallyPressed }
        let spec = GPIOLineSpec(line: gpioTestLineRef("GPIO17"), bias: .pullUp, activeLow: true, consumer: "test")
        let line = try GPIOInputLine(backend: backend, spec: spec)
        let events = GPIOEventCollector<ButtonEvent>()
        let button = try GPIOButton(line: line, gestures: settings ?? gestures, clock: clock) { events.add($0.event) }
        try button.start()
        return Rig(backend: backend, fake: try XCTUnwrap(backend.line("GPIO17")), button: button, events: events)
    }

    func testLineIsRequestedAsTheBoardSays() throws {
        let r = try rig()
        defer { r.button.stop() }
        XCTAssertEqual(r.fake.spec.bias, .pullUp)
        XCTAssertTrue(r.fake.spec.activeLow)
        XCTAssertEqual(r.button.line.resolved, "gpiochip0 line 17")
    }

    func testPressAndRelease() throws {
        let r = try rig()
        defer { r.button.stop() }
        r.fake.inject(at: clock.now(), [(0, true)])
        XCTAssertEqual(r.events.wait(count: 1), [.press])
        r.fake.inject(at: clock.now(), [(0, false)])
        XCTAssertEqual(r.events.wait(count: 3), [.press, .release, .tap])
    }

    func testBounceIsOnePressAndOneRelease() throws {
        let r = try rig()
        defer { r.button.stop() }
        let t = clock.now()
        // Contact bounce on both edges, all within the 20 ms debounce time.
        r.fake.inject(at: t, [(0, true), (2, false), (4, true), (7, false), (9, true)])
        r.fake.inject(at: t, [(100, false), (102, true), (105, false), (108, true), (111, false)])
        let e = r.events.wait(count: 3)
        usleep(100_000)
        XCTAssertEqual(r.events.all, [.press, .release, .tap], "\(e)")
    }

    func testGlitchIsIgnored() throws {
        let r = try rig()
        defer { r.button.stop() }
        r.fake.inject(at: clock.now(), [(0, true), (8, false)])
        usleep(150_000)
        XCTAssertEqual(r.events.all, [])
    }

    func testLongPress() throws {
        let r = try rig()
        defer { r.button.stop() }
        r.fake.inject(at: clock.now(), [(0, true)])
        // Nothing but the press until the long-press time; then the gesture while still held.
        XCTAssertEqual(r.events.wait(count: 2, timeout: .seconds(2)), [.press, .longPress])
        r.fake.inject(at: clock.now(), [(0, false)])
        XCTAssertEqual(r.events.wait(count: 3), [.press, .longPress, .release])
    }

    func testDoublePress() throws {
        var s = gestures
        s.detectDoublePress = true
        let r = try rig(s)
        defer { r.button.stop() }
        let t = clock.now()
        r.fake.inject(at: t, [(0, true), (60, false), (120, true), (180, false)])
        let e = r.events.wait(count: 5)
        usleep(250_000)  // past the window: no tap follows
        XCTAssertEqual(r.events.all, [.press, .release, .press, .doublePress, .release], "\(e)")
    }

    func testSingleTapWaitsForTheDoublePressWindow() throws {
        var s = gestures
        s.detectDoublePress = true
        let r = try rig(s)
        defer { r.button.stop() }
        let start = clock.now()
        r.fake.inject(at: start, [(0, true), (60, false)])
        XCTAssertEqual(r.events.wait(count: 3), [.press, .release, .tap])
        XCTAssertGreaterThanOrEqual(clock.now() - start, .milliseconds(200))  // 60 + 150 ms window
    }

    func testButtonHeldAtStartIsNotAPress() throws {
        let r = try rig(initiallyPressed: true)
        defer { r.button.stop() }
        usleep(400_000)  // longer than the long-press time: no long press either
        XCTAssertEqual(r.events.all, [])
        r.fake.inject(at: clock.now(), [(0, false)])
        XCTAssertEqual(r.events.wait(count: 1), [.release])
    }

    func testRealtimeTimestampsFallBackToTheReadTime() throws {
        let r = try rig()
        defer { r.button.stop() }
        // CLOCK_REALTIME-like stamps (kernels before 5.7): decades away from the monotonic clock.
        r.fake.inject([GPIOEdge(timestamp: .seconds(1_700_000_000), rising: true)])
        XCTAssertEqual(r.events.wait(count: 1), [.press])
    }

    func testManyEdgesAtOnceAreAllRead() throws {
        let r = try rig()
        defer { r.button.stop() }
        let t = clock.now()
        var timeline: [(Int, Bool)] = []
        for i in 0..<40 { timeline += [(i * 60, true), (i * 60 + 30, false)] }  // 40 taps, more than one read batch
        r.fake.inject(at: t - .milliseconds(2500), timeline)
        let e = r.events.wait(count: 120)
        XCTAssertEqual(e.filter { $0 == .press }.count, 40)
        XCTAssertEqual(e.filter { $0 == .tap }.count, 40)
    }

    /// The chip goes away (its driver unbound: reads fail with ENODEV) and comes back: the
    /// thread requests the line again and the next press is seen (found on gpio-sim in the VM).
    func testLostLineIsRequestedAgain() throws {
        let r = try rig()
        defer { r.button.stop() }
        r.fake.state.withLock { $0.readError = ENODEV }
        r.fake.inject([])
        let deadline = clock.now() + .seconds(5)
        var again: FakeGPIOLine?
        while clock.now() < deadline {
            if let l = r.backend.line("GPIO17"), l !== r.fake { again = l; break }
            usleep(20_000)
        }
        let line = try XCTUnwrap(again, "the line was not requested again")
        XCTAssertTrue(r.fake.isClosed)
        usleep(50_000)
        line.inject(at: clock.now(), [(0, true)])
        XCTAssertEqual(r.events.wait(count: 1), [.press])
    }

    func testStopEndsTheThreadAndCloseReleasesTheLine() throws {
        let r = try rig()
        r.button.stop()
        r.fake.inject(at: clock.now(), [(0, true)])
        usleep(100_000)
        XCTAssertEqual(r.events.all, [])
        r.button.line.close()
        XCTAssertTrue(r.fake.isClosed)
    }

    func testButtonFromTheBoardConfig() throws {
        var config = ButtonBoardConfig()
        XCTAssertNil(try ApplianceButtons.start(config, backend: FakeGPIOBackend()) { _ in })
        config.backend = .gpio
        config.line = gpioTestLineRef("GPIO5")
        config.gestures = gestures
        let backend = FakeGPIOBackend()
        let events = GPIOEventCollector<ButtonEvent>()
        let input = try XCTUnwrap(try ApplianceButtons.start(config, backend: backend) { events.add($0.event) })
        let fake = try XCTUnwrap(backend.line("GPIO5"))
        XCTAssertEqual(fake.spec.bias, .pullUp)
        fake.inject(at: clock.now(), [(0, true), (50, false)])
        XCTAssertEqual(events.wait(count: 3), [.press, .release, .tap])
        input.shutdown()
        XCTAssertTrue(fake.isClosed)
        backend.failures.withLock { $0["GPIO5"] = (.chip, EACCES) }
        XCTAssertThrowsError(try ApplianceButtons.start(config, backend: backend) { _ in }) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "button.line")
            XCTAssertTrue("\(e)".contains("\"gpio\" group"), "\(e)")
        }
    }

    func testOpenFailureIsAConfigErrorNamingTheKey() {
        let backend = FakeGPIOBackend()
        backend.failures.withLock { $0["GPIO17"] = (.request, EBUSY) }
        let spec = GPIOLineSpec(line: gpioTestLineRef("GPIO17"), bias: .pullUp, activeLow: true)
        XCTAssertThrowsError(try GPIOInputLine(backend: backend, spec: spec)) { e in
            let error = e as? GPIOError
            XCTAssertEqual(error?.configError.key, "button.line")
            XCTAssertEqual(error?.description,
                           "/boards/test.toml:3: button.line: line GPIO17 is in use by another program (see `gpioinfo`); stop it or choose another line for button.line")
        }
    }
}
