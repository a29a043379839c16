import XCTest
import RealtimeProtocol
@testable import OmniCore

final class SessionRenewalTests: XCTestCase {
    /// These tests run idle sessions for hours: without the service's idle close (its renewal is
    /// SessionLifecycleTests' subject), only the session cap and the keepalive are at work.
    static let capOnly = SessionSettings(idleClose: nil)

    private func minutes(_ m: Int, _ s: Int = 0, ms: Int = 0) -> Duration { .seconds(m * 60 + s) + .milliseconds(ms) }

    private func assertRenewed(_ h: SessionHarness, file: StaticString = #filePath, line: UInt = #line) {
        let m = h.manager
        XCTAssertEqual(m.state, .closing, file: file, line: line)
        XCTAssertEqual(h.transport.closes.last, .close(code: 1000, reason: "session renewal"), file: file, line: line)
        let sentBefore = h.transport.sent.count
        m.handle(.closed(code: 1000, reason: "session renewal"))
        XCTAssertEqual(m.state, .connecting, "reconnects at once, no backoff", file: file, line: line)
        XCTAssertEqual(m.counters.renewals, 1, file: file, line: line)
        XCTAssertEqual(m.counters.reconnects, 0, file: file, line: line)
        XCTAssertEqual(h.transport.connects, 2, file: file, line: line)
        XCTAssertEqual(h.linkLosses, [], "a renewal is not a lost link", file: file, line: line)
        XCTAssertFalse(h.states.contains { $0.phase == .waitingToReconnect }, file: file, line: line)
        m.handle(.opened)
        XCTAssertEqual(Array(h.transport.sentTypes.dropFirst(sentBefore)), ["session.update"], file: file, line: line)
        h.serve(.sessionUpdated(h.config))
        XCTAssertEqual(m.state, .ready, file: file, line: line)
        h.assertCleanLogs(file: file, line: line)
    }

    func testIdleSessionIsRenewedAtCapMinusMargin() {
        let h = SessionHarness(settings: Self.capOnly)
        h.autoPong = true
        h.makeReady()
        h.run(until: minutes(114, 59, ms: 999))
        XCTAssertEqual(h.manager.state, .ready)
        XCTAssertEqual(h.transport.closes, [])
        h.run(until: minutes(115))
        assertRenewed(h)
        // The next renewal is measured from the new link.
        h.run(until: minutes(115) + minutes(114, 59))
        XCTAssertEqual(h.manager.state, .ready)
        h.run(for: .seconds(1))
        XCTAssertEqual(h.manager.state, .closing)
    }

    func testRenewalIsPostponedDuringAManualTurnAndDoneAfterIt() {
        let h = SessionHarness(settings: Self.capOnly, config: .manualTest)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: minutes(114, 58))
        // The user holds the button across the renewal time.
        for _ in 0..<30 {
            m.appendAudio(base64: audioPayload(0))
            h.run(for: .milliseconds(100))
        }
        XCTAssertGreaterThan(h.now, minutes(115))
        XCTAssertTrue(m.isTurnInProgress)
        XCTAssertEqual(m.state, .ready)
        XCTAssertTrue(h.logs.contains("postponed until the current turn ends"))
        m.commit()
        m.createResponse()
        h.run(for: .seconds(1))
        h.serve(.responseCreated(ResponseInfo(id: "resp_1", status: "in_progress")))
        let ref = ContentRef(responseID: "resp_1", itemID: "item_1")
        for _ in 0..<8 {
            h.run(for: .seconds(1))
            h.serve(.audioDelta(ref, delta: "AAAAAAAA"))
        }
        XCTAssertEqual(m.state, .ready, "still answering")
        XCTAssertEqual(h.transport.closes, [])
        h.serve(.outputItemDone(responseID: "resp_1", outputIndex: 0, item: ConversationItem(id: "item_1", status: "completed")))
        XCTAssertFalse(m.isTurnInProgress)
        assertRenewed(h)
    }

    func testRenewalWaitsForAResponseThatNeverFinishesOnlyUntilItGoesQuiet() {
        let h = SessionHarness(settings: Self.capOnly)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: minutes(114, 59))
        h.serve(.responseCreated(ResponseInfo(id: "resp_9")))      // then nothing: no done event (§5.3)
        h.run(until: minutes(115, 3, ms: 999))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.nextDeadline, minutes(115, 4))
        h.run(until: minutes(115, 4))
        assertRenewed(h)
    }

    func testEventsOfAnOldResponseDoNotEndANewTurn() {
        let h = SessionHarness(settings: Self.capOnly, config: .vadTest)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: minutes(114, 59))
        h.serve(.responseCreated(ResponseInfo(id: "resp_new")))
        h.serve(.responseDone(ResponseInfo(id: "resp_old")))
        h.serve(.outputItemDone(responseID: "resp_old", outputIndex: 0, item: ConversationItem(id: "x")))
        h.run(until: minutes(115, 1))
        XCTAssertEqual(m.state, .ready)
        h.serve(.responseDone(ResponseInfo(id: "resp_new", status: "completed")))
        assertRenewed(h)
    }

    func testVADStreamingAloneDoesNotBlockRenewalButSpeechDoes() {
        let h = SessionHarness(settings: Self.capOnly, config: .vadTest)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: minutes(114, 50))
        // Continuous microphone streaming (VAD mode): not a turn by itself.
        for _ in 0..<9 {
            m.appendAudio(base64: audioPayload(1))
            h.run(for: .seconds(1))
        }
        XCTAssertFalse(m.isTurnInProgress)
        h.serve(.speechStarted(audioStartMs: 1000, itemID: "item_u"))
        for _ in 0..<10 {
            m.appendAudio(base64: audioPayload(2))
            h.run(for: .seconds(1))
        }
        XCTAssertGreaterThan(h.now, minutes(115, 5))
        XCTAssertEqual(m.state, .ready, "speech in progress")
        h.serve(.speechStopped(audioEndMs: 9000, itemID: "item_u"))
        h.serve(.inputAudioBufferCommitted(itemID: "item_u", previousItemID: nil))
        m.appendAudio(base64: audioPayload(3))
        XCTAssertEqual(m.state, .ready, "a response is expected")
        h.serve(.responseCreated(ResponseInfo(id: "resp_1")))
        h.serve(.responseDone(ResponseInfo(id: "resp_1", status: "completed")))
        assertRenewed(h)
    }

    func testNoRenewalWithoutSessionCap() {
        let h = SessionHarness(settings: SessionSettings(maxSessionLength: nil, idleClose: nil))
        h.autoPong = true
        h.makeReady()
        h.run(for: .seconds(4 * 3600))
        XCTAssertEqual(h.manager.state, .ready)
        XCTAssertEqual(h.transport.closes, [])
    }
}

final class SessionTurnTrackerTests: XCTestCase {
    let t = Duration.seconds(5)

    func testManualTurnLifecycle() {
        var tr = SessionTurnTracker(idleTimeout: t)
        XCTAssertFalse(tr.isInProgress(at: .zero))
        tr.client(.inputAudioBufferAppend(audio: "A"), manualMode: true, at: .seconds(1))
        XCTAssertTrue(tr.isInProgress(at: .seconds(1)))
        tr.client(.inputAudioBufferCommit, manualMode: true, at: .seconds(2))
        tr.client(.responseCreate(nil), manualMode: true, at: .seconds(2))
        XCTAssertTrue(tr.isInProgress(at: .seconds(6)))
        XCTAssertFalse(tr.isInProgress(at: .seconds(7)), "no response.created within 5 s: over")
        tr.server(.responseCreated(ResponseInfo(id: "r1")), at: .seconds(3))
        tr.server(.audioDone(ContentRef(responseID: "r1", itemID: "i")), at: .seconds(6))
        XCTAssertTrue(tr.isInProgress(at: .seconds(10)))
        XCTAssertEqual(tr.nextExpiry(after: .seconds(10)), .seconds(11))
        tr.server(.responseDone(ResponseInfo(id: "r1")), at: .seconds(10))
        XCTAssertFalse(tr.isInProgress(at: .seconds(10)))
        XCTAssertNil(tr.nextExpiry(after: .seconds(10)))
    }

    func testClearEndsCaptureAndNewResponseReplacesOld() {
        var tr = SessionTurnTracker(idleTimeout: t)
        tr.client(.inputAudioBufferAppend(audio: "A"), manualMode: true, at: .zero)
        tr.client(.inputAudioBufferClear, manualMode: true, at: .seconds(1))
        XCTAssertFalse(tr.isInProgress(at: .seconds(1)))
        tr.server(.responseCreated(ResponseInfo(id: "r1")), at: .seconds(2))
        tr.server(.responseCreated(ResponseInfo(id: "r2")), at: .seconds(3))
        tr.server(.responseDone(ResponseInfo(id: "r1")), at: .seconds(4))
        XCTAssertTrue(tr.isInProgress(at: .seconds(4)), "r1's done does not end r2")
        tr.server(.outputItemDone(responseID: "r2", outputIndex: 0, item: ConversationItem(id: "i")), at: .seconds(5))
        XCTAssertFalse(tr.isInProgress(at: .seconds(5)))
    }
}
