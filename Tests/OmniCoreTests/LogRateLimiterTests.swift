import XCTest
@testable import OmniCore

/// The limiter on an injected clock: first line at once, then at most one per interval, every
/// occurrence accounted for exactly once.
final class LogRateLimiterTests: XCTestCase {
    func testFirstOccurrenceLogsAtOnceThenQuietWithinTheInterval() {
        let clock = ManualClock(.seconds(100))
        var l = LogRateLimiter(interval: .seconds(10))
        XCTAssertEqual(l.record(at: clock.now()), .log(skipped: 0))
        for _ in 0..<19_999 {
            clock.advance(by: .microseconds(20))  // 20,000 in 0.4 s, as in issue 16
            XCTAssertEqual(l.record(at: clock.now()), .quiet)
        }
        XCTAssertEqual(l.skipped, 19_999)
        XCTAssertEqual(l.total, 20_000)
        XCTAssertNil(l.flush(at: clock.now()), "no summary before the interval has passed")
    }

    func testNextOccurrenceAfterTheIntervalCarriesTheSkippedCount() {
        let clock = ManualClock()
        var l = LogRateLimiter(interval: .seconds(10))
        _ = l.record(at: clock.now())
        clock.advance(by: .seconds(1))
        _ = l.record(at: clock.now())
        _ = l.record(at: clock.now())
        clock.advance(by: .seconds(9))  // exactly the interval after the first line
        XCTAssertEqual(l.record(at: clock.now()), .log(skipped: 2))
        XCTAssertEqual(l.skipped, 0)
        clock.advance(by: .seconds(9))
        XCTAssertEqual(l.record(at: clock.now()), .quiet, "the interval restarts at the line just written")
    }

    func testFlushSummarisesOncePerIntervalAndOnlyWhenSomethingWasSkipped() {
        let clock = ManualClock()
        var l = LogRateLimiter(interval: .seconds(10))
        XCTAssertNil(l.flush(at: clock.now()), "nothing recorded")
        _ = l.record(at: clock.now())
        clock.advance(by: .seconds(30))
        XCTAssertNil(l.flush(at: clock.now()), "nothing skipped: no summary")
        _ = l.record(at: clock.now())      // logs (interval passed)
        _ = l.record(at: clock.now())      // quiet
        clock.advance(by: .milliseconds(9_999))
        XCTAssertNil(l.flush(at: clock.now()))
        clock.advance(by: .milliseconds(1))
        XCTAssertEqual(l.flush(at: clock.now()), 1)
        XCTAssertNil(l.flush(at: clock.now()), "reported once")
        _ = l.record(at: clock.now())
        XCTAssertEqual(l.skipped, 1, "a summary is a line: the interval restarts there")
        XCTAssertEqual(l.total, 4)
    }

    func testEveryOccurrenceIsReportedExactlyOnce() {
        // Bursts at irregular times; lines (1 each for .log, plus what they and flush report).
        let clock = ManualClock()
        var l = LogRateLimiter(interval: .seconds(2))
        var reported = 0
        var lines = 0
        var seed: UInt64 = 7
        for step in 0..<5_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            clock.advance(by: .milliseconds(Int64(seed >> 54)))  // 0…1023 ms
            if case .log(let skipped) = l.record(at: clock.now()) {
                reported += 1 + skipped
                lines += 1
            }
            if step % 7 == 0, let n = l.flush(at: clock.now()) {
                reported += n
                lines += 1
            }
        }
        clock.advance(by: .seconds(2))
        reported += l.flush(at: clock.now()) ?? 0
        XCTAssertEqual(reported, l.total)
        XCTAssertEqual(l.total, 5_000)
        // At most one line per interval: elapsed / 2 s (+ the first).
        XCTAssertLessThanOrEqual(lines, Int(clock.now().components.seconds / 2) + 1)
    }
}
