import XCTest
@testable import OmniCore

/// The debounce and gesture rules on synthetic edge timelines (times in ms).
final class GestureDetectorTests: XCTestCase {
    func ms(_ v: Int) -> Duration { .milliseconds(v) }

    /// Feeds `edges` in order, calling `advance` at every deadline as the GPIO thread would,
    /// and finally advances to `until`.
    func run(_ edges: [(Int, Bool)], until: Int, settings: GestureSettings = GestureSettings(),
             initiallyPressed: Bool = false) -> [String] {
        var g = GestureDetector(settings: settings, initiallyPressed: initiallyPressed)
        var out: [GestureEvent] = []
        for (t, level) in edges {
            // Deadlines before this edge fire first (the thread's poll timed out).
            while let d = g.nextDeadline, d < ms(t) { out += g.advance(to: d) }
            out += g.edge(pressed: level, at: ms(t))
        }
        while let d = g.nextDeadline, d <= ms(until) { out += g.advance(to: d) }
        out += g.advance(to: ms(until))
        return out.map(\.description)
    }

    func testCleanPressAndRelease() {
        XCTAssertEqual(run([(0, true), (200, false)], until: 1000), ["press@20ms", "release@220ms", "tap@220ms"])
    }

    func testBounceWithinTheDebounceTimeIsOnePress() {
        let bouncyPress = [(0, true), (2, false), (5, true), (7, false), (11, true)]
        let bouncyRelease = [(300, false), (303, true), (306, false), (309, true), (312, false)]
        XCTAssertEqual(run(bouncyPress + bouncyRelease, until: 1000), ["press@31ms", "release@332ms", "tap@332ms"])
    }

    func testGlitchShorterThanTheDebounceIsIgnored() {
        XCTAssertEqual(run([(100, true), (115, false)], until: 1000), [])
        XCTAssertEqual(run([(100, true), (119, false), (400, true), (419, false)], until: 1000), [])
    }

    func testReleaseGlitchWhileHeldIsIgnored() {
        XCTAssertEqual(run([(0, true), (500, false), (510, true), (1000, false)], until: 2000),
                       ["press@20ms", "release@1020ms"])  // held 1 s: no tap
    }

    func testLongPressFiresOnceWhileHeld() {
        XCTAssertEqual(run([(0, true), (5000, false)], until: 6000),
                       ["press@20ms", "longPress@3000ms", "release@5020ms"])
    }

    func testLongPressNeedsTheFullTime() {
        XCTAssertEqual(run([(0, true), (2990, false)], until: 4000), ["press@20ms", "release@3010ms"])
    }

    func testTapLimit() {
        XCTAssertEqual(run([(0, true), (399, false)], until: 1000), ["press@20ms", "release@419ms", "tap@419ms"])
        XCTAssertEqual(run([(0, true), (400, false)], until: 1000), ["press@20ms", "release@420ms"])
    }

    func testDoublePress() {
        let s = GestureSettings(detectDoublePress: true)
        XCTAssertEqual(run([(0, true), (100, false), (300, true), (400, false)], until: 2000, settings: s),
                       ["press@20ms", "release@120ms", "press@320ms", "doublePress@320ms", "release@420ms"])
    }

    func testSecondPressWithBounceStillCountsAsDouble() {
        let s = GestureSettings(detectDoublePress: true)
        // The second press begins at 490 ms (inside the 100 + 400 window) but bounces until 500.
        XCTAssertEqual(run([(0, true), (100, false), (490, true), (495, false), (498, true), (700, false)], until: 2000, settings: s),
                       ["press@20ms", "release@120ms", "press@518ms", "doublePress@518ms", "release@720ms"])
    }

    func testTapIsHeldBackUntilTheWindowPasses() {
        let s = GestureSettings(detectDoublePress: true)
        XCTAssertEqual(run([(0, true), (100, false)], until: 2000, settings: s), ["press@20ms", "release@120ms", "tap@500ms"])
        // A second press after the window: the first tap, then an ordinary press.
        XCTAssertEqual(run([(0, true), (100, false), (600, true), (700, false)], until: 2000, settings: s),
                       ["press@20ms", "release@120ms", "tap@500ms", "press@620ms", "release@720ms", "tap@1100ms"])
    }

    func testLongPressIsNotATapAndDoesNotStartADouble() {
        let s = GestureSettings(detectDoublePress: true)
        XCTAssertEqual(run([(0, true), (3500, false), (3700, true), (3800, false)], until: 5000, settings: s),
                       ["press@20ms", "longPress@3000ms", "release@3520ms", "press@3720ms", "release@3820ms", "tap@4200ms"])
    }

    func testTripleTapIsADoubleThenAPress() {
        let s = GestureSettings(detectDoublePress: true)
        XCTAssertEqual(run([(0, true), (80, false), (200, true), (280, false), (400, true), (480, false)], until: 2000, settings: s),
                       ["press@20ms", "release@100ms", "press@220ms", "doublePress@220ms", "release@300ms",
                        "press@420ms", "release@500ms", "tap@880ms"])
    }

    func testButtonHeldAtStartIsNotAPress() {
        XCTAssertEqual(run([(4000, false)], until: 5000, initiallyPressed: true), ["release@4020ms"])
    }

    func testLostEdgeRestartsTheDebounce() {
        // Two "pressed" edges in a row: the release in between was lost.
        XCTAssertEqual(run([(0, true), (10, true), (300, false)], until: 1000), ["press@30ms", "release@320ms", "tap@320ms"])
    }

    func testDeadlines() {
        var g = GestureDetector(settings: GestureSettings(detectDoublePress: true))
        XCTAssertNil(g.nextDeadline)
        _ = g.edge(pressed: true, at: ms(1000))
        XCTAssertEqual(g.nextDeadline, ms(1020))
        XCTAssertEqual(g.advance(to: ms(1020)).map(\.event), [.press])
        XCTAssertEqual(g.nextDeadline, ms(4000))  // long press
        _ = g.edge(pressed: false, at: ms(1100))
        XCTAssertEqual(g.nextDeadline, ms(1120))
        XCTAssertEqual(g.advance(to: ms(1200)).map(\.event), [.release])
        XCTAssertEqual(g.nextDeadline, ms(1500))  // held-back tap
        XCTAssertEqual(g.advance(to: ms(1499)), [])
        XCTAssertEqual(g.advance(to: ms(1500)).map(\.event), [.tap])
        XCTAssertNil(g.nextDeadline)
    }

    func testZeroDebounceForSoftwareButtons() {
        let s = GestureSettings(debounce: .zero)
        XCTAssertEqual(run([(0, true), (50, false)], until: 100, settings: s), ["press@0ms", "release@50ms", "tap@50ms"])
    }
}
