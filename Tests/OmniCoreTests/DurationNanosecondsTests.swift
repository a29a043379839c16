import XCTest
import OmniCore

final class DurationNanosecondsTests: XCTestCase {
    func testWholeNanosecondsTruncatesTowardZero() {
        XCTAssertEqual(Duration.zero.wholeNanoseconds, 0)
        XCTAssertEqual((Duration.seconds(1) + .nanoseconds(7)).wholeNanoseconds, 1_000_000_007)
        XCTAssertEqual(Duration.milliseconds(-1500).wholeNanoseconds, -1_500_000_000)
        XCTAssertEqual(Duration.nanoseconds(-1).wholeNanoseconds, -1)
        // 999 attoseconds is below one nanosecond, on either side of zero.
        XCTAssertEqual(Duration(secondsComponent: 0, attosecondsComponent: 999).wholeNanoseconds, 0)
        XCTAssertEqual(Duration(secondsComponent: 0, attosecondsComponent: -999).wholeNanoseconds, 0)
    }

    func testWholeNanosecondsSaturates() {
        XCTAssertEqual(Duration.seconds(Int64.max).wholeNanoseconds, .max)
        XCTAssertEqual(Duration.seconds(Int64.min).wholeNanoseconds, .min)
        // The last whole second that fits, plus a remainder that tips it over.
        let limit = Int64.max / 1_000_000_000
        XCTAssertEqual(Duration.seconds(limit).wholeNanoseconds, limit * 1_000_000_000)
        XCTAssertEqual((Duration.seconds(limit) + .nanoseconds(999_999_999)).wholeNanoseconds, .max)
    }

    func testTimespecComponents() {
        XCTAssertTrue(Duration.zero.timespecComponents == (0, 0))
        XCTAssertTrue((Duration.seconds(3) + .nanoseconds(250)).timespecComponents == (3, 250))
        XCTAssertTrue(Duration.milliseconds(1500).timespecComponents == (1, 500_000_000))
        XCTAssertTrue(Duration.milliseconds(-1500).timespecComponents == (0, 0))
        XCTAssertTrue(Duration.nanoseconds(-1).timespecComponents == (0, 0))
    }
}
