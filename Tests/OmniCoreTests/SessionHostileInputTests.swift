import XCTest
import RealtimeProtocol
@testable import OmniCore

/// What a hostile service can repeat once per frame is counted, dropped and logged rate-limited
/// (issue 16): one line at once, then a summary per `logRepeatInterval`, flushed by the next
/// transport event or tick after it.
final class SessionHostileInputTests: XCTestCase {
    func warnings(_ h: SessionHarness, _ fragment: String) -> [String] {
        h.logs.all.filter { $0.hasPrefix("warning") && $0.contains(fragment) }
    }

    func testMalformedFloodLogsOnceThenOneSummary() {
        let h = SessionHarness(settings: SessionSettings(logRepeatInterval: .seconds(10)))
        let m = h.manager
        h.makeReady()
        for _ in 0..<20_000 { m.handle(.text(#"{"type":"response.audio.delta","delta":"AAAA"#)) }
        XCTAssertEqual(m.counters.malformedFrames, 20_000)
        XCTAssertEqual(warnings(h, "malformed frame").count, 1)
        XCTAssertTrue(warnings(h, "malformed frame")[0].hasPrefix("warning skipping malformed frame (1 so far): "))
        XCTAssertEqual(m.state, .ready)

        // The next sign of life after the interval flushes the count.
        h.clock.advance(by: .seconds(10))
        m.handle(.pong)
        XCTAssertEqual(warnings(h, "malformed frame").last, "warning skipped 19999 more malformed frame(s) (20000 so far)")
        m.handle(.pong)
        XCTAssertEqual(warnings(h, "malformed frame").count, 2)
    }

    func testSummaryComesFromAnExistingDeadlineWithoutNewTimers() {
        let h = SessionHarness(settings: SessionSettings(pingInterval: .seconds(10), logRepeatInterval: .seconds(10)))
        h.autoPong = true
        let m = h.manager
        h.makeReady()
        let deadline = m.nextDeadline
        m.handle(.text("{"))
        m.handle(.text("{"))
        XCTAssertEqual(m.nextDeadline, deadline, "the limiter adds no deadline of its own")
        h.run(for: .seconds(11))  // the ping tick flushes
        XCTAssertEqual(warnings(h, "malformed frame").last, "warning skipped 1 more malformed frame(s) (2 so far)")
    }

    func testInvalidBase64AudioDeltasAreCountedDroppedAndLoggedOnce() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        let ref = ContentRef(responseID: "resp_1", itemID: "item_1")
        let before = h.serverEvents.count
        // A bad character, an impossible length, 1 and 3 bytes (no whole sample), '=' inside;
        // "AAAAAA==" is 4 bytes, two samples: the one playable delta.
        for delta in ["!AAA", "AAAAA", "AA==", "AAAAAA==", "AAAA", "A=AA"] {
            h.serve(.audioDelta(ref, delta: delta))
        }
        XCTAssertEqual(m.counters.invalidAudioDeltas, 5)
        XCTAssertEqual(h.serverEvents.count - before, 1, "only the playable delta is forwarded")
        XCTAssertEqual(warnings(h, "invalid Base64").count, 1)
        XCTAssertTrue(warnings(h, "invalid Base64")[0].contains("(1 so far): response resp_1, 4 characters"))
        XCTAssertEqual(m.counters.malformedFrames, 0)
        h.clock.advance(by: .seconds(10))
        m.tick()
        XCTAssertEqual(warnings(h, "invalid Base64").last, "warning dropped 4 more audio delta(s) with invalid Base64 (5 so far)")
    }

    func testBinaryMessagesAreSignsOfLifeCountedAndLoggedOnce() {
        let h = SessionHarness(settings: SessionSettings(deadAfter: .seconds(25)))
        let m = h.manager
        h.makeReady()
        for _ in 0..<30 {
            h.clock.advance(by: .seconds(1))
            m.handle(.binary(byteCount: 1024))
        }
        XCTAssertEqual(m.state, .ready, "30 s of binary messages only: not a dead link")
        XCTAssertEqual(m.counters.binaryMessages, 30)
        let lines = warnings(h, "binary message")
        XCTAssertEqual(lines.first, "warning ignoring a 1024-byte binary message (1 so far)")
        // One line per 10 s: at 1 s, 11 s and 21 s; the later ones carry the skipped count.
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertTrue(lines[1].contains("(11 so far, 9 not logged since the last line)"), lines[1])
    }

    func testRecoverableErrorFloodIsReportedEachTimeButLoggedOnce() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        for i in 0..<500 {
            h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "x", message: "bad \(i)")))
        }
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.counters.serverErrors, 500)
        let reported = h.events.filter { if case .serverError(_, _, _, true) = $0 { true } else { false } }
        XCTAssertEqual(reported.count, 500, "the appliance still hears of every one")
        XCTAssertEqual(h.logs.all.filter { $0.contains("service error, session continues") }.count, 1)
        h.clock.advance(by: .seconds(10))
        m.tick()
        XCTAssertEqual(h.logs.all.last, "notice 499 more recoverable service error(s) (500 server errors so far)")
    }

    func testDroppedAudioEventsAndLinesAreRateLimited() {
        let h = SessionHarness(settings: SessionSettings(maxQueuedAudio: 5))
        let m = h.manager
        m.start()  // connecting: nothing flows, every append past 5 drops one
        for i in 0..<1_000 { m.appendAudio(base64: audioPayload(i)) }
        XCTAssertEqual(m.counters.droppedAudioFrames, 995)
        let drops = h.events.compactMap { if case .droppedAudio(let t) = $0 { t } else { nil } }
        XCTAssertEqual(drops, [1], "one event (its receiver logs it) for the first drop")
        XCTAssertEqual(warnings(h, "dropping the oldest queued audio").count, 1)
        h.clock.advance(by: .seconds(10))
        m.appendAudio(base64: audioPayload(1_000))
        let later = h.events.compactMap { if case .droppedAudio(let t) = $0 { t } else { nil } }
        XCTAssertEqual(later, [1, 996])
        XCTAssertTrue(warnings(h, "dropping the oldest queued audio").last!.contains("(996 message(s) so far, 994 not logged since the last line)"))
    }
}
