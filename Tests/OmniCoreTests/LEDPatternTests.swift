import XCTest
@testable import OmniCore

final class LEDPatternTests: XCTestCase {
    func ms(_ v: Int) -> Duration { .milliseconds(v) }

    func testSolidAndOff() {
        XCTAssertTrue(LEDPattern.solid.isOn(after: ms(12345)))
        XCTAssertFalse(LEDPattern.off.isOn(after: .zero))
        XCTAssertNil(LEDPattern.solid.nextChange(after: .zero))
        XCTAssertNil(LEDPattern.off.nextChange(after: ms(5)))
    }

    func testBlink() {
        let p = LEDPattern.blink(on: ms(200), off: ms(800))
        XCTAssertTrue(p.isOn(after: .zero))
        XCTAssertTrue(p.isOn(after: ms(199)))
        XCTAssertFalse(p.isOn(after: ms(200)))
        XCTAssertFalse(p.isOn(after: ms(999)))
        XCTAssertTrue(p.isOn(after: ms(1000)))
        XCTAssertEqual(p.nextChange(after: .zero), ms(200))
        XCTAssertEqual(p.nextChange(after: ms(200)), ms(1000))
        XCTAssertEqual(p.nextChange(after: ms(1150)), ms(1200))
        // Degenerate blinks are steady.
        XCTAssertNil(LEDPattern.blink(on: .zero, off: ms(100)).nextChange(after: .zero))
        XCTAssertFalse(LEDPattern.blink(on: .zero, off: ms(100)).isOn(after: .zero))
        XCTAssertTrue(LEDPattern.blink(on: ms(100), off: .zero).isOn(after: ms(150)))
    }

    func testHeartbeat() {
        let p = LEDPattern.heartbeat(period: ms(1500))
        let on = stride(from: 0, to: 1500, by: 10).filter { p.isOn(after: ms($0)) }
        XCTAssertEqual(on.first, 0)
        XCTAssertEqual(on.count, 20)  // 2 × 100 ms
        XCTAssertFalse(p.isOn(after: ms(150)))
        XCTAssertTrue(p.isOn(after: ms(260)))
        XCTAssertTrue(p.isOn(after: ms(1500)))  // next beat
        XCTAssertEqual(p.nextChange(after: .zero), ms(100))
        XCTAssertEqual(p.nextChange(after: ms(100)), ms(250))
        XCTAssertEqual(p.nextChange(after: ms(250)), ms(350))
        XCTAssertEqual(p.nextChange(after: ms(350)), ms(1500))
    }

    /// Following nextChange from change to change visits exactly the points where isOn flips.
    func testNextChangeMatchesIsOnForEveryDefaultLook() {
        for scheme in [LEDScheme.singleDefaults, .colorDefaults] {
            for state in ApplianceState.allCases {
                let p = scheme.look(for: state).pattern
                var t = Duration.zero
                var steps = 0
                while let n = p.nextChange(after: t), n < .seconds(5) {
                    XCTAssertGreaterThan(n, t)
                    XCTAssertEqual(p.isOn(after: n - .milliseconds(1)), p.isOn(after: t), "\(state) \(p) at \(n)")
                    XCTAssertNotEqual(p.isOn(after: n), p.isOn(after: t), "\(state) \(p) at \(n)")
                    t = n
                    steps += 1
                }
                if case .solid = p { XCTAssertEqual(steps, 0) }
            }
        }
    }

    func testEveryStateHasADistinctDefaultLook() {
        for scheme in [LEDScheme.singleDefaults, .colorDefaults] {
            let looks = ApplianceState.allCases.map { scheme.look(for: $0) }
            XCTAssertEqual(Set(looks.map(\.description)).count, ApplianceState.allCases.count, "\(looks)")
        }
    }

    func testLevelsPerLine() {
        let s = LEDScheme.colorDefaults
        XCTAssertEqual(s.levels(for: .listening, after: .zero, lines: 3), [false, false, true])
        XCTAssertEqual(s.levels(for: .connecting, after: .zero, lines: 3), [true, true, false])
        XCTAssertEqual(s.levels(for: .connecting, after: ms(600), lines: 3), [false, false, false])
        XCTAssertEqual(s.levels(for: .listening, after: .zero, lines: 1), [true])
        XCTAssertEqual(s.levels(for: .offline, after: .zero, lines: 2), [true, false])
        XCTAssertEqual(LEDColor.white.levels(lines: 0), [])
        XCTAssertEqual(LEDScheme.defaults(lines: 1), .singleDefaults)
        XCTAssertEqual(LEDScheme.defaults(lines: 3), .colorDefaults)
    }
}
