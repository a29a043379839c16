import XCTest
import RealtimeProtocol
@testable import OmniCore

/// The service's own rules (idle close, session cap) are routine, never an outage; each link has
/// its own queue; a re-sent turn is whole.
final class SessionLifecycleTests: XCTestCase {
    private let idleOnly = SessionSettings(maxSessionLength: nil)

    private func renewals(_ h: SessionHarness) -> [RoutineClose] {
        h.events.compactMap { if case .renewing(let c) = $0 { c } else { nil } }
    }

    /// closing → (closed) → connecting → opened → session.update → ready, quietly.
    private func completeRenewal(_ h: SessionHarness, file: StaticString = #filePath, line: UInt = #line) {
        let m = h.manager
        if m.state == .closing { m.handle(.closed(code: 1000, reason: "session renewal")) }
        XCTAssertEqual(m.state, .connecting, "reconnects at once", file: file, line: line)
        XCTAssertTrue(m.isRenewing, file: file, line: line)
        m.handle(.opened)
        XCTAssertEqual(h.transport.sentTypes.last, "session.update", file: file, line: line)
        h.serve(.sessionUpdated(m.session))
        XCTAssertEqual(m.state, .ready, file: file, line: line)
        XCTAssertFalse(m.isRenewing, file: file, line: line)
    }

    private func assertNoOutage(_ h: SessionHarness, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(h.linkLosses, [], file: file, line: line)
        XCTAssertEqual(h.manager.counters.outages, 0, file: file, line: line)
        XCTAssertFalse(h.states.contains { $0.phase == .waitingToReconnect }, file: file, line: line)
        XCTAssertFalse(h.events.contains { if case .serverError = $0 { true } else { false } }, file: file, line: line)
        XCTAssertFalse(h.logs.all.contains { $0.hasPrefix("warning") || $0.hasPrefix("error") }, "\(h.logs.all)",
                       file: file, line: line)
        h.assertCleanLogs(file: file, line: line)
    }

    // MARK: Renewing before the service's deadlines

    func testIdleSessionIsRenewedQuietlyBeforeTheServiceClosesIt() {
        let h = SessionHarness(settings: idleOnly)
        h.autoPong = true
        h.makeReady()
        h.run(until: .seconds(269) + .milliseconds(999))
        XCTAssertEqual(h.manager.state, .ready, "pings do not matter; 30 s before the service's 300 s")
        h.run(until: .seconds(270))
        XCTAssertEqual(h.manager.state, .closing)
        XCTAssertEqual(renewals(h), [.idle])
        completeRenewal(h)
        XCTAssertEqual(h.manager.counters.renewals, 1)
        XCTAssertEqual(h.manager.counters.reconnects, 0)
        assertNoOutage(h)
        // The next one is measured from the new session.
        h.run(until: .seconds(270 + 269))
        XCTAssertEqual(h.manager.state, .ready)
    }

    func testAResponseRestartsTheIdleClockAndATurnPostponesTheRenewal() {
        let h = SessionHarness(settings: idleOnly)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: .seconds(200))
        h.serve(.responseCreated(ResponseInfo(id: "resp_1")))
        h.serve(.responseDone(ResponseInfo(id: "resp_1", status: "completed")))
        h.run(until: .seconds(469))
        XCTAssertEqual(m.state, .ready)
        // The user holds the button across the renewal time: postponed until the turn ends.
        for _ in 0..<20 {
            m.appendAudio(base64: audioPayload(0))
            h.run(for: .milliseconds(100))
        }
        XCTAssertEqual(m.state, .ready)
        m.clearInputBuffer()
        h.run(for: .milliseconds(1))
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(renewals(h), [.idle])
    }

    // MARK: The service's routine closes

    func testAnnouncedIdleCloseIsFollowedByAQuietReconnect() {
        let h = SessionHarness(settings: SessionSettings(idleClose: nil))
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(for: .seconds(300))
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "response_idle_timeout",
                                   message: "Your session was closed because no response was generated for 300 seconds.")))
        XCTAssertEqual(m.state, .ready, "the close follows")
        m.handle(.closed(code: 1000, reason: ""))
        XCTAssertEqual(renewals(h), [.idle])
        completeRenewal(h)
        XCTAssertEqual(m.counters.routineCloses, 1)
        XCTAssertEqual(m.counters.renewals, 0)
        XCTAssertEqual(h.transport.connects, 2)
        assertNoOutage(h)
    }

    func testCapCloseRightAtTheDeadlineIsRoutineEvenUnannouncedAndMidTurn() {
        var settings = SessionSettings()
        settings.adoptServiceRules(idleClose: nil, sessionCap: .seconds(100))  // renews at 25 s
        let h = SessionHarness(settings: settings)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: .seconds(24))
        // A long turn keeps the renewal (due at 25 s) postponed up to the cap.
        for _ in 0..<760 {
            m.appendAudio(base64: audioPayload(1))
            h.run(for: .milliseconds(100))
        }
        XCTAssertEqual(m.state, .ready)
        m.handle(.closed(code: 1000, reason: ""))
        XCTAssertEqual(renewals(h), [.sessionCap])
        completeRenewal(h)
        XCTAssertEqual(m.counters.routineCloses, 1)
        assertNoOutage(h)
    }

    func testAnUnannouncedCloseAwayFromTheDeadlinesIsAnOutage() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.run(for: .seconds(10))
        m.handle(.closed(code: 1000, reason: ""))
        XCTAssertEqual(m.state.phase, .waitingToReconnect)
        XCTAssertEqual(m.counters.outages, 1)
        XCTAssertEqual(renewals(h), [])
    }

    func testARenewalWhoseConnectFailsBecomesAnOutage() {
        let h = SessionHarness(settings: idleOnly)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(until: .seconds(270))
        m.handle(.closed(code: 1000, reason: ""))
        XCTAssertTrue(m.isRenewing)
        m.handle(.failed(.connect("refused")))
        XCTAssertEqual(m.state.phase, .waitingToReconnect)
        XCTAssertFalse(m.isRenewing)
        XCTAssertEqual(h.linkLosses.count, 1)
        XCTAssertEqual(m.counters.outages, 1)
    }

    // MARK: One queue per link

    func testNothingQueuedForALostLinkReachesTheNextSession() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false
        for i in 0..<5 { m.appendAudio(base64: audioPayload(i)) }
        m.commit()
        m.createResponse()
        m.handle(.failed(.connect("connection reset")))
        XCTAssertEqual(m.queuedMessages, 0)
        h.transport.accepting = true
        m.appendAudio(base64: audioPayload(99))  // queued after the loss: for the next link
        h.run(for: .seconds(1))
        m.handle(.opened)
        h.serve(.sessionUpdated(m.session))
        XCTAssertEqual(h.transport.sentTypes, ["session.update", "session.update", "input_audio_buffer.append"])
        XCTAssertEqual(h.transport.sentEvents.last?.audio, audioPayload(99))
    }

    func testAResentTurnIsWholeAndLiveAudioBehindItIsKeptToo() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false
        m.resendTurn((0..<200).map(audioPayload))  // 20 s: four times the drop-oldest bound
        for i in 200..<260 { m.appendAudio(base64: audioPayload(i)) }
        m.commit()
        m.createResponse()
        XCTAssertEqual(m.counters.droppedAudioFrames, 0)
        XCTAssertEqual(m.queuedMessages, 262)
        // The transport takes what it can; the rest goes on `.writable`.
        h.transport.accepting = true
        m.handle(.writable)
        XCTAssertEqual(h.transport.sentEvents.compactMap(\.audio), (0..<260).map(audioPayload))
        XCTAssertEqual(Array(h.transport.sentTypes.suffix(2)), ["input_audio_buffer.commit", "response.create"])
    }

    // MARK: One response at a time

    private func serveCreated(_ h: SessionHarness, _ id: String) { h.serve(.responseCreated(ResponseInfo(id: id))) }
    private func serveEnd(_ h: SessionHarness, _ id: String) {
        h.serve(.outputItemDone(responseID: id, outputIndex: 0, item: ConversationItem(id: "item_\(id)", status: "incomplete")))
    }
    private var started: (SessionHarness) -> [SessionEvent] {
        { h in h.events.filter { if case .responseStarted = $0 { true } else { false } } }
    }

    func testBargeInDuringTheAnswerCancelsItAndTheNextCreateWaitsForItsEnd() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.commit()
        m.createResponse()
        serveCreated(h, "r1")
        m.cancelResponse()
        XCTAssertEqual(h.transport.sentTypes.last, "response.cancel")
        m.commit()
        m.createResponse()
        XCTAssertEqual(h.transport.sentTypes.last, "input_audio_buffer.commit", "held: r1 has not ended")
        serveEnd(h, "r1")
        XCTAssertEqual(h.transport.sentTypes.last, "response.create")
        serveCreated(h, "r2")
        XCTAssertEqual(started(h), [.responseStarted(responseID: "r1", stale: false), .responseStarted(responseID: "r2", stale: false)])
    }

    func testAnUnannouncedEndOfACancelledResponseHoldsTheCreateOnlyForTheGrace() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.commit()
        m.createResponse()
        serveCreated(h, "r1")
        m.cancelResponse()
        m.commit()
        m.createResponse()
        h.run(for: .milliseconds(999))
        XCTAssertEqual(h.transport.sentTypes.last, "input_audio_buffer.commit")
        h.run(for: .milliseconds(1))
        XCTAssertEqual(h.transport.sentTypes.last, "response.create")
    }

    func testBargeInBeforeResponseCreatedCancelsItWhenItComesAndMarksItStale() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.commit()
        m.createResponse()                 // out; r1 not created yet
        m.cancelResponse()                 // nothing to cancel yet: deferred
        XCTAssertFalse(h.transport.sentTypes.contains("response.cancel"))
        m.commit()
        m.createResponse()                 // the new turn's: held behind the unanswered one
        XCTAssertEqual(h.transport.sentTypes.filter { $0 == "response.create" }.count, 1)
        serveCreated(h, "r1")
        XCTAssertEqual(h.transport.sentTypes.last, "response.cancel", "sent the moment r1 exists")
        XCTAssertEqual(started(h).last, .responseStarted(responseID: "r1", stale: true))
        serveEnd(h, "r1")
        XCTAssertEqual(h.transport.sentTypes.last, "response.create")
        serveCreated(h, "r2")
        XCTAssertEqual(started(h).last, .responseStarted(responseID: "r2", stale: false))
        XCTAssertFalse(h.events.contains { if case .serverError = $0 { true } else { false } })
    }

    func testCancelWithNothingToCancelIsNotSentAndAQueuedCreateIsWithdrawn() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.cancelResponse()
        XCTAssertEqual(m.counters.cancelsDropped, 1)
        h.transport.accepting = false
        m.commit()
        m.createResponse()
        m.cancelResponse()
        h.transport.accepting = true
        m.handle(.writable)
        XCTAssertEqual(h.transport.sentTypes, ["session.update", "input_audio_buffer.commit"])
    }

    func testActiveResponseRefusalIsRetriedOnceWithoutReportingIt() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.commit()
        m.createResponse()
        h.serve(.error(ErrorDetail(type: "invalid_request_error", message: "Conversation already has an active response")))
        XCTAssertFalse(h.events.contains { if case .serverError = $0 { true } else { false } })
        XCTAssertEqual(h.transport.sentTypes.filter { $0 == "response.create" }.count, 2)
    }

    // MARK: Reloads

    func testVoiceChangeAfterAudioRenewsBetweenTurnsWithTheWholeConfig() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        var next = SessionConfig.manualTest
        next.voice = "Ethan"
        next.instructions = "Be terse."
        m.updateSession(next)
        XCTAssertEqual(h.transport.sentEvents.last?.config, next, "no audio yet: an update does it")

        m.commit()
        m.createResponse()
        serveCreated(h, "r1")
        h.serve(.audioDelta(ContentRef(responseID: "r1", itemID: "i1"), delta: "AAAAAAAA"))
        XCTAssertTrue(m.hasProducedAudio)
        var third = next
        third.voice = "Serena"
        m.updateSession(third)
        XCTAssertEqual(h.transport.sentEvents.filter { $0.type == "session.update" }.count, 2, "not sent: refused after audio")
        XCTAssertEqual(m.state, .ready, "not in the middle of the answer")
        h.serve(.responseDone(ResponseInfo(id: "r1", status: "completed")))
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(renewals(h), [.reload])
        completeRenewal(h)
        XCTAssertEqual(h.transport.sentEvents.filter { $0.type == "session.update" }.last?.config, third)
        XCTAssertEqual(h.linkLosses, [])
    }

    func testRefusedVoiceChangeRenewsBetweenTurns() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "cannot_update_voice", message: "voice locked")))
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(renewals(h), [.reload])
        XCTAssertFalse(h.events.contains { if case .serverError = $0 { true } else { false } })
    }

    func testNewKeyConnectsAtOnceFromTheBadKeyWait() {
        let h = SessionHarness()
        let m = h.manager
        m.start()
        m.handle(.failed(.httpStatus(401)))
        XCTAssertEqual(m.state.phase, .authFailed)
        m.updateRequest(ConnectRequest(url: "wss://example.invalid/new", headers: [("Authorization", "Bearer sk-new-key-123")]))
        m.renew(.reload)
        XCTAssertEqual(m.state, .connecting)
        XCTAssertEqual(h.transport.calls.last, .connect(url: "wss://example.invalid/new"))
    }

    func testNewURLWhileReadyReplacesTheSessionQuietly() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.updateRequest(ConnectRequest(url: "wss://example.invalid/other"))
        m.renew(.reload)
        XCTAssertEqual(m.state, .closing)
        completeRenewal(h)
        let urls = h.transport.calls.compactMap { c -> String? in if case .connect(let u) = c { u } else { nil } }
        XCTAssertEqual(urls.last, "wss://example.invalid/other")
        assertNoOutage(h)
    }

    // MARK: Output format spelling

    func testRefusedOutputFormatFallsBackOnceAndIsRememberedForLaterSessions() {
        var config = SessionConfig.manualTest
        config.outputAudioFormat = "pcm24"
        let h = SessionHarness(config: config, random: 0)
        let m = h.manager
        m.start()
        m.handle(.opened)
        let first = h.transport.sentEvents.last
        XCTAssertEqual(first?.config?.outputAudioFormat, "pcm24")
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "invalid_value",
                                   message: "Invalid output_audio_format: 'pcm24'.", param: "session.output_audio_format",
                                   eventID: first?.eventID)))
        XCTAssertEqual(m.state, .configuring)
        XCTAssertEqual(h.transport.sentEvents.last?.config?.outputAudioFormat, "pcm16")
        h.serve(.sessionUpdated(m.session))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.counters.formatFallbacks, 1)
        XCTAssertEqual(h.logs.all.filter { $0.contains("refused output_audio_format") }.count, 1)
        // A reload does not bring the refused spelling back; a new session starts with the other.
        m.updateSession(config)
        XCTAssertEqual(h.transport.sentEvents.last?.config?.outputAudioFormat, "pcm16")
        m.handle(.failed(.connect("reset")))
        h.run(for: .seconds(1))
        m.handle(.opened)
        XCTAssertEqual(h.transport.sentEvents.last?.config?.outputAudioFormat, "pcm16")
        // Refused both ways: an ordinary rejected config (no loop).
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "invalid_value",
                                   message: "Invalid output_audio_format: 'pcm16'.", param: "session.output_audio_format")))
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.counters.formatFallbacks, 1)
    }
}
