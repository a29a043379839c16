import Foundation
import XCTest

/// A hostile service (issue 16, item 4): omni-sim's hostile faults against the real omnid. For
/// each: omnid survives, says so in a bounded number of lines that carry a count (warnings that
/// can repeat per frame are rate-limited, `[log] repeat_interval_ms`), and answers the next
/// ordinary push-to-talk turn. Link-killing faults hit only the first connection
/// (`fault_connection=1`), as a real outage would not follow the client around.
final class OmnidHostileServerTests: XCTestCase {
    /// Rate-limited lines for a burst that lasts well under a few intervals: the first one, a
    /// summary, maybe one or two more on a slow machine. Without the limiter it was one per frame.
    let boundedLines = 8

    func rig(_ fault: String, simArguments: [String] = [], service: String = "") throws -> HostileRig {
        let r = try HostileRig(fault: fault, simArguments: simArguments, service: service)
        addTeardownBlock { r.stop() }
        try r.waitUntilReady()
        return r
    }

    // MARK: Floods and malformed frames

    func testFloodOfMalformedFramesIsLoggedOnceWithACount() throws {
        let r = try rig("fault=flood&fault_count=20000")
        XCTAssertEqual(try r.turn()?.answered, 1, "the answer after the flood")
        // The summary follows the first line once the interval has passed (flushed by a pong).
        r.waitForLog { _ in r.reportedTotal("malformed frame") == 20_000 }
        let lines = r.lines("malformed frame")
        XCTAssertTrue(lines.first?.contains("skipping malformed frame (1 so far): ") == true, "\(lines)")
        XCTAssertLessThanOrEqual(lines.count, boundedLines, "\(lines)")
        try r.assertNextTurnAnswered()
    }

    /// Regression (flood wedge): the transport read a flood far faster than the controller loop
    /// could decode it and queued every frame on that loop, so its memory grew with the backlog
    /// (1,000,000 frames: 168 MB) and the control socket, timers and the systemd watchdog waited
    /// behind it. With the receive window the backlog is bounded and the loop stays responsive.
    func testLongFloodKeepsTheControllerResponsiveAndMemoryBounded() throws {
        // 100,000 frames of 1 KB: a backlog shows in the peak RSS (it grew by ~100 MB).
        let n = 100_000
        let r = try rig("fault=flood&fault_count=\(n)&fault_bytes=1000&fault_at_ms=300")
        let before = r.peakRSSKiB()
        r.waitForLog { $0.contains("skipping malformed frame (1 so far)") }
        var statusCalls = 0
        while r.reportedTotal("malformed frame") < n && r.omnid.process.isRunning {
            // `omnid ctl` gives up after 3 s; behind the old backlog it did.
            XCTAssertNotNil(try r.status(), "the control socket must answer during the flood: \(r.lastCtlError)")
            statusCalls += 1
            if statusCalls > 400 { break }  // hang guard
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(r.reportedTotal("malformed frame"), n)
        let growth = r.peakRSSKiB() - before
        print("hostile flood: \(n) frames, peak RSS +\(growth) KiB, \(statusCalls) status calls answered")
        // Under AddressSanitizer freed memory sits in its quarantine: RSS says nothing there.
        if !Sanitizers.address { XCTAssertLessThan(growth, 20_000, "peak RSS grew by \(growth) KiB during the flood") }
        XCTAssertLessThanOrEqual(r.lines("malformed frame").count, 2 + 30, "about one line per second at most")
        try r.assertNextTurnAnswered()
    }

    func testFloodOfUnknownEventsIsIgnoredWithoutWarnings() throws {
        let r = try rig("fault=flood&fault_count=20000&fault_flood=unknown")
        XCTAssertEqual(try r.turn()?.answered, 1, "the answer after the flood (so every flood event was read)")
        XCTAssertEqual(r.lines("<4>").count, 0, "unknown events are debug-level only:\n\(r.lines("<4>").prefix(5))")
        try r.assertNextTurnAnswered()
    }

    func testFloodOfRecoverableErrorsEndsTheTurnOnce() throws {
        let r = try rig("fault=flood&fault_count=2000&fault_flood=error")
        let first = try r.turn()
        XCTAssertEqual(first?.failed, 1, "a service error during the turn fails it, once")
        XCTAssertEqual(first?.turns, 1)
        let session = r.lines("omnid.session: service error, session continues")
        XCTAssertEqual(session.count, 1, "the session's line is rate-limited: \(session)")
        // Daemon.swift logs every `.serverError` event as well (2,000 lines here); that line is
        // outside this change (see the report), so it is not asserted on.
        // The next turn once the whole flood is read (the rate-limited summary reports all of
        // it): under ASan on a loaded machine the first turn failed long before the 2,000th
        // error came, and a turn begun meanwhile was refused by the flood's rest, as it should be.
        r.waitForLog { $0.contains("(2000 server errors so far)") }
        try r.assertNextTurnAnswered()
        XCTAssertEqual(r.lines("[interrupted]").count, 1, "the flood interrupted only the first turn")
    }

    func testDeepNestingIsOneMalformedFrame() throws {
        let r = try rig("fault=deep_nesting&fault_depth=100000")
        XCTAssertEqual(try r.turn()?.answered, 1)
        XCTAssertEqual(r.lines("nesting too deep").count, 1, r.log)
        XCTAssertEqual(r.reportedTotal("malformed frame"), 1)
        try r.assertNextTurnAnswered()
    }

    func testBinaryFramesAreIgnoredAndCounted() throws {
        let r = try rig("fault=binary_frames&fault_count=1000&fault_bytes=1024")
        XCTAssertEqual(try r.turn()?.answered, 1)
        r.waitForLog { _ in r.reportedTotal("binary message") == 1000 }
        let lines = r.lines("binary message")
        XCTAssertTrue(lines.first?.contains("ignoring a 1024-byte binary message (1 so far)") == true, "\(lines)")
        XCTAssertLessThanOrEqual(lines.count, boundedLines, "\(lines)")
        try r.assertNextTurnAnswered()
    }

    // MARK: Payloads

    func testInvalidBase64AudioIsCountedNotPlayedAndLoggedOnce() throws {
        // The 300 ms tone goes out as three 100 ms deltas: a bad character, an impossible
        // length, an odd byte count.
        let r = try rig("fault=invalid_base64")
        XCTAssertEqual(try r.turn()?.answered, 1, "an answer whose audio is all invalid ends as a silent answer")
        r.waitForLog { _ in r.reportedTotal("invalid Base64") == 3 }
        let lines = r.lines("invalid Base64")
        XCTAssertTrue(lines.first?.contains("dropping an audio delta with invalid Base64 (1 so far): response resp_") == true,
                      "\(lines)")
        XCTAssertLessThanOrEqual(lines.count, 2, "\(lines)")
        // Counted once (by the session, which drops them) and shown by `omnid ctl status`.
        XCTAssertEqual(try r.status()?.invalidAudio, 3)
        try r.assertNextTurnAnswered()
    }

    func testInvalidUTF8TextFrameFailsTheLinkOnceThenReconnects() throws {
        let r = try rig("fault=invalid_utf8&fault_connection=1")
        let first = try r.turn()
        XCTAssertEqual(first?.failed, 1, "the link is closed (1007) under the turn")
        // One line per layer (transport, session, daemon), once.
        let lines = r.lines("not valid UTF-8")
        XCTAssertGreaterThanOrEqual(lines.count, 1)
        XCTAssertLessThanOrEqual(lines.count, 4, "\(lines)")
        try r.assertNextTurnAnswered()
        XCTAssertEqual(r.lines("not valid UTF-8").count, lines.count, "nothing more after the reconnect")
    }

    // MARK: Sizes

    func testHugeSingleFrameUnderTheLimitIsIgnored() throws {
        // 0.9 MB in one frame; omnid's limit is [service] max_message_kb (1024 by default, sized
        // from the largest legitimate event, an image at 256 KB of Base64).
        let r = try rig("fault=oversize_frame&fault_bytes=900000")
        XCTAssertEqual(try r.turn()?.answered, 1)
        XCTAssertEqual(r.lines("<4>").count, 0, "\(r.lines("<4>"))")
        try r.assertNextTurnAnswered()
    }

    func testHugeFragmentedMessageOverTheLimitFailsTheLinkOnce() throws {
        // 6 MB in 64 KiB frames: rejected (1009) as the reassembly passes the limit.
        let r = try rig("fault=oversize_frame&fault_bytes=6000000&fault_fragment=65536&fault_connection=1")
        XCTAssertEqual(try r.turn()?.failed, 1)
        let lines = r.lines("message too large")
        XCTAssertGreaterThanOrEqual(lines.count, 1)
        XCTAssertLessThanOrEqual(lines.count, 4, "\(lines)")
        try r.assertNextTurnAnswered()
    }

    func testSlowMessageWithinTheLimitIsDelivered() throws {
        // 100 one-byte frames 10 ms apart (1 s) in front of the answer.
        let r = try rig("fault=slow_loris&fault_bytes=100&fault_fragment=1&fault_gap_ms=10",
                        service: "dead_link_ms = 3000")
        XCTAssertEqual(try r.turn()?.answered, 1)
        XCTAssertEqual(r.lines("<4>").count, 0, "\(r.lines("<4>"))")
        try r.assertNextTurnAnswered()
    }

    /// Regression (slow-loris wedge): a message dribbled a byte per frame, with pings answered
    /// between the frames, held the link "alive" and every answer queued behind it, so no turn
    /// was answered for as long as the sender kept going. A message still incomplete after the
    /// dead-link time now fails the link.
    func testEndlessSlowLorisFailsTheLinkOnceThenReconnects() throws {
        let r = try rig("fault=slow_loris&fault_bytes=100000&fault_fragment=1&fault_gap_ms=10&fault_connection=1",
                        service: "dead_link_ms = 2000")
        XCTAssertEqual(try r.turn()?.failed, 1)
        let lines = r.lines("message still incomplete after")
        XCTAssertGreaterThanOrEqual(lines.count, 1, r.log)
        XCTAssertLessThanOrEqual(lines.count, 4, "\(lines)")
        try r.assertNextTurnAnswered()
    }

    // MARK: TCP resets at each phase

    /// A reset at `fault`'s phase of the first connection: one link loss, one reconnect, and
    /// the first turn ends `firstTurn` (nil: no turn while the fault fires).
    func resetTest(_ fault: String, firstTurn: KeyPath<HostileRig.Status, Int>?,
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try rig("fault=\(fault)&fault_connection=1")
        if let firstTurn {
            let s = try r.turn(file: file, line: line)
            XCTAssertEqual(s?[keyPath: firstTurn], 1, "first turn; log:\n\(r.log)", file: file, line: line)
        }
        try r.assertNextTurnAnswered(file: file, line: line)
        XCTAssertEqual(r.lines("omnid: link lost: ").count, 1, r.log, file: file, line: line)
        let status = try JSONSerialization.jsonObject(with: Data(try r.ctl("status", ["--json"]).utf8)) as? [String: Any]
        XCTAssertEqual((status?["counters"] as? [String: Any])?["reconnects"] as? Int, 1, file: file, line: line)
    }

    func testResetBeforeSessionCreated() throws {
        try resetTest("reset_before_created", firstTurn: nil)
    }

    func testResetAfterSessionCreated() throws {
        try resetTest("reset_after_created", firstTurn: nil)
    }

    func testResetMidAnswer() throws {
        try resetTest("reset_mid_answer&fault_after_deltas=1", firstTurn: \.failed)
    }

    func testResetAfterResponseDone() throws {
        try resetTest("reset_after_done", firstTurn: \.answered)
    }
}
