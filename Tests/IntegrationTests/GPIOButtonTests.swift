#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
@testable import OmniLinux
import XCTest

/// The Swift GPIO layer (GPIOInputLine + GPIOButton's thread) driven through the fake shim:
/// edges with kernel-style timestamps, contact bounce, long and double presses. Time is a
/// stepped clock the test sets: edges carry their own timestamps, the thread's deadlines come
/// from the clock, and every event is checked with the time it was decided at. "Nothing else
/// happened" is shown by a later, known event arriving next (events come in order).
final class GPIOButtonTests: XCTestCase {
    /// Where the test clock starts (edges are stamped relative to it).
    let t0 = Duration.seconds(1_000)
    /// Short gesture times; debounce as on the device.
    let gestures = GestureSettings(debounce: .milliseconds(20), longPress: .milliseconds(300), tapMax: .milliseconds(200),
                                   doublePressWindow: .milliseconds(150), detectDoublePress: false)

    struct Rig {
        let t0: Duration
        let clock: SteppedClock
        let backend: FakeGPIOBackend
        let fake: FakeGPIOLine
        let button: GPIOButton
        let events: GPIOEventCollector<GestureEvent>

        /// Edges at t0 + ms (true = pressed), queued as the kernel would.
        func edges(_ timeline: [(Int, Bool)]) { fake.inject(at: t0, timeline) }

        /// Moves the clock to t0 + ms and wakes the thread (a readable fd with no edges), so it
        /// acts on the new time at once.
        func time(_ ms: Int) {
            clock.set(to: t0 + .milliseconds(ms))
            fake.inject([])
        }

        /// Returns once the thread has read the edges queued so far and stamped them with the
        /// clock as it is now: the queue is empty, and after a wake-up the thread has read the
        /// clock twice more (stamp, then deadlines; see GPIOButton.run).
        func settle() -> Bool {
            guard eventually({ fake.state.withLock { $0.queue.isEmpty } }) else { return false }
            let reads = clock.reads
            fake.inject([])
            return clock.waitForReads(2, since: reads)
        }

        /// The first `count` events as "kind@ms" (ms since t0), waiting for them.
        func wait(_ count: Int) -> [String] {
            events.wait(count: count).map { "\($0.event.rawValue)@\(Int((($0.at - t0) / .milliseconds(1)).rounded()))" }
        }
    }

    func rig(_ settings: GestureSettings? = nil, initiallyPressed: Bool = false) throws -> Rig {
        let clock = SteppedClock(t0)
        let backend = FakeGPIOBackend()
        backend.initialLevel.withLock { $0["GPIO17"] = initiallyPressed }
        let spec = GPIOLineSpec(line: gpioTestLineRef("GPIO17"), bias: .pullUp, activeLow: true, consumer: "test")
        let line = try GPIOInputLine(backend: backend, spec: spec)
        let events = GPIOEventCollector<GestureEvent>()
        let button = try GPIOButton(line: line, gestures: settings ?? gestures, clock: clock) { events.add($0) }
        try button.start()
        return Rig(t0: t0, clock: clock, backend: backend, fake: try XCTUnwrap(backend.line("GPIO17")), button: button,
                   events: events)
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
        r.edges([(0, true)])
        r.time(20)  // the debounce time
        XCTAssertEqual(r.wait(1), ["press@20"])
        r.edges([(100, false)])
        r.time(120)
        XCTAssertEqual(r.wait(3), ["press@20", "release@120", "tap@120"])
    }

    func testBounceIsOnePressAndOneRelease() throws {
        let r = try rig()
        defer { r.button.stop() }
        // Contact bounce on both edges, all within the 20 ms debounce time.
        r.edges([(0, true), (2, false), (4, true), (7, false), (9, true)])
        r.edges([(100, false), (102, true), (105, false), (108, true), (111, false)])
        r.time(300)
        // The thread has read every bounce before the clock goes past the long-press time: one
        // that read only the first batch and then the clock at 420 took the press for held (seen
        // once under ASan: longPress@309 before release@131).
        XCTAssertTrue(r.settle())
        // Then a clean press: the next event, so nothing else came from the bounces.
        r.edges([(400, true)])
        r.time(420)
        XCTAssertEqual(r.wait(4), ["press@29", "release@131", "tap@131", "press@420"])
    }

    func testGlitchIsIgnored() throws {
        let r = try rig()
        defer { r.button.stop() }
        r.edges([(0, true), (8, false)])
        r.time(150)
        r.edges([(200, true)])
        r.time(220)
        XCTAssertEqual(r.wait(1), ["press@220"], "the glitch made no event")
    }

    func testLongPress() throws {
        let r = try rig()
        defer { r.button.stop() }
        r.edges([(0, true)])
        // Nothing but the press until the long-press time; then the gesture while still held.
        r.time(300)
        XCTAssertEqual(r.wait(2), ["press@20", "longPress@300"])
        r.edges([(400, false)])
        r.time(420)
        XCTAssertEqual(r.wait(3), ["press@20", "longPress@300", "release@420"])
    }

    func testDoublePress() throws {
        var s = gestures
        s.detectDoublePress = true
        let r = try rig(s)
        defer { r.button.stop() }
        r.edges([(0, true), (60, false), (120, true), (180, false)])
        r.time(500)  // past the window: no tap follows
        r.edges([(600, true)])
        r.time(620)
        XCTAssertEqual(r.wait(6), ["press@20", "release@80", "press@140", "doublePress@140", "release@200", "press@620"])
    }

    func testSingleTapWaitsForTheDoublePressWindow() throws {
        var s = gestures
        s.detectDoublePress = true
        let r = try rig(s)
        defer { r.button.stop() }
        r.edges([(0, true), (60, false)])
        r.time(1_000)
        // The tap is decided when the 150 ms window after the release (at 60) has passed.
        XCTAssertEqual(r.wait(3), ["press@20", "release@80", "tap@210"])
    }

    func testButtonHeldAtStartIsNotAPress() throws {
        let r = try rig(initiallyPressed: true)
        defer { r.button.stop() }
        r.time(400)  // longer than the long-press time: no long press either
        r.edges([(500, false)])
        r.time(520)
        r.edges([(600, true)])
        r.time(620)
        XCTAssertEqual(r.wait(2), ["release@520", "press@620"])
    }

    func testRealtimeTimestampsFallBackToTheReadTime() throws {
        let r = try rig()
        defer { r.button.stop() }
        // CLOCK_REALTIME-like stamps (kernels before 5.7): decades away from the monotonic clock.
        r.fake.inject([GPIOEdge(timestamp: .seconds(1_700_000_000), rising: true)])
        XCTAssertTrue(r.settle(), "the thread never read the edge")  // read (and stamped) at t0
        r.time(20)
        XCTAssertEqual(r.wait(1), ["press@20"])
    }

    func testManyEdgesAtOnceAreAllRead() throws {
        let r = try rig()
        defer { r.button.stop() }
        var timeline: [(Int, Bool)] = []
        for i in 0..<40 { timeline += [(i * 60, true), (i * 60 + 30, false)] }  // 40 taps, more than one read batch
        r.fake.inject(at: t0 - .milliseconds(2500), timeline)
        r.time(0)
        let e = r.events.wait(count: 120).map(\.event)
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
        var again: FakeGPIOLine?
        // The thread retries once a second (a deadline while the line is lost, not a poll).
        XCTAssertTrue(eventually {
            if let l = r.backend.line("GPIO17"), l !== r.fake { again = l; return true }
            return false
        }, "the line was not requested again")
        let line = try XCTUnwrap(again)
        XCTAssertTrue(r.fake.isClosed)
        // The thread reads the new line's level to start its detector: a press queued before
        // that read would be its starting level, not an edge (a race seen once under ASan).
        XCTAssertTrue(eventually { line.state.withLock { $0.valueReads > 0 } }, "the new line's level was not read")
        line.inject(at: r.t0, [(0, true)])
        r.clock.set(to: r.t0 + .milliseconds(20))  // the debounce time
        line.inject([])  // wakes the thread on the line it polls now (r.time wakes the old one)
        XCTAssertEqual(r.events.wait(count: 1).map(\.event), [.press])
    }

    func testStopEndsTheThreadAndCloseReleasesTheLine() throws {
        let r = try rig()
        r.button.stop()  // joins the thread: nothing can come after this
        r.edges([(0, true)])
        r.time(100)
        XCTAssertEqual(r.events.all.count, 0)
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
        fake.inject(at: SystemMonotonicClock().now(), [(0, true), (50, false)])
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
