import XCTest
@testable import OmniCore
import RealtimeProtocol

/// Whole turns through the machine, as the controller would drive it.
final class ApplianceScenarioTests: XCTestCase {
    func earcons(_ a: [ApplianceAction]) -> [ApplianceEarcon] { a.compactMap { if case .earcon(let e) = $0 { e } else { nil } } }
    func leds(_ a: [ApplianceAction]) -> [ApplianceState] { a.compactMap { if case .setLEDs(let s) = $0 { s } else { nil } } }

    func testPushToTalkTurnEndToEnd() {
        var d = ApplianceDriver(mode: .pushToTalk)
        XCTAssertEqual(d.send(.linkConnecting), [])
        d.send(.linkReady)
        d.press()
        d.release(after: .seconds(2))
        XCTAssertEqual(d.state, .thinking)
        d.server(.committed)
        d.server(.responseCreated(responseID: "r1"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "r1", audioMs: 200, base64: "AAAA"), after: .milliseconds(480))
            .contains(.playAudioDelta(base64: "AAAA")), "the action carries the delta's own audio")
        d.send(.playbackStarted, after: .milliseconds(60))
        d.server(.audioDelta(responseID: "r1", audioMs: 200))
        d.server(.assistantTranscript(responseID: "r1", text: "Hello there."))
        d.server(.userTranscript("Hi."))
        XCTAssertTrue(d.server(.responseAudioEnded(responseID: "r1")).contains(.endOfAnswer))
        XCTAssertFalse(d.server(.responseDone(responseID: "r1", status: "completed")).contains(.endOfAnswer))
        XCTAssertEqual(d.state, .speaking)
        d.send(.playbackDrained, after: .milliseconds(300))
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(leds(d.log), [.ready, .listening, .thinking, .speaking, .ready])
        XCTAssertEqual(earcons(d.log), [.ready, .listen, .send])
        XCTAssertTrue(d.log.contains(.logTranscript(.user, "Hi.")))
        XCTAssertTrue(d.log.contains(.logTranscript(.assistant, "Hello there.")))
        XCTAssertEqual(d.machine.counters.turnsStarted, 1)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        let l = d.machine.lastTurnLatencies
        XCTAssertEqual(l?.releaseToCommit, .zero)
        XCTAssertEqual(l?.commitToFirstDelta, .milliseconds(500))
        XCTAssertEqual(l?.firstDeltaToFirstSample, .milliseconds(60))
        XCTAssertTrue(d.machine.armedTimers.isEmpty, "\(d.machine.armedTimers)")
    }

    func testCommitSentTimeRefinesTheLatency() {
        var d = ApplianceFixture.listening.make(.pushToTalk)
        d.release(after: .seconds(1))
        d.machine.noteCommitSent(at: d.now + .milliseconds(3))
        XCTAssertEqual(d.machine.lastTurnLatencies?.releaseToCommit, .milliseconds(3))
    }

    func testShortPressSendsNothing() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        d.press()
        let a = d.release(after: .milliseconds(120))
        XCTAssertEqual(d.state, .ready)
        XCTAssertFalse(a.contains(.commit))
        XCTAssertFalse(a.contains(.createResponse))
        XCTAssertTrue(a.contains(.clearInputBuffer))
        XCTAssertEqual(d.machine.counters.turnsCancelled, 1)
        // Exactly at the minimum is a turn.
        d.press()
        XCTAssertTrue(d.release(after: .milliseconds(150)).contains(.commit))
    }

    func testMaximumTurnIsCommittedAutomatically() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        let a = d.press()
        XCTAssertTrue(a.contains { if case .startTimer(let t, let after) = $0 { t.kind == .maxTurn && after == .seconds(60) } else { false } })
        let fired = d.fire(.maxTurn, after: .seconds(60))
        XCTAssertTrue(fired.contains(.commit))
        XCTAssertTrue(fired.contains(.createResponse))
        XCTAssertEqual(d.state, .thinking)
        XCTAssertEqual(d.release(after: .seconds(5)), [])  // the release of the same press does nothing more
        XCTAssertEqual(d.state, .thinking)
    }

    func testBargeInDropsTheOldAnswerAndTakesTheNew() {
        var d = ApplianceFixture.speaking.make(.pushToTalk)
        let a = d.press().filter { if case .cancelTimer = $0 { false } else { true } }
        XCTAssertEqual(Array(a.prefix(3)), [.cancelResponse, .flushPlayback, .startStreaming(record: true)])
        XCTAssertEqual(d.state, .listening)
        // Stragglers of the cancelled answer are not played and do not change the state.
        XCTAssertFalse(d.server(.audioDelta(responseID: "r1", audioMs: 100)).playsAudio)
        XCTAssertEqual(d.server(.responseDone(responseID: "r1", status: "cancelled")), [])
        d.release(after: .seconds(1))
        d.server(.responseCreated(responseID: "r2"))
        XCTAssertFalse(d.server(.audioDelta(responseID: "r1", audioMs: 100)).playsAudio)
        XCTAssertTrue(d.server(.audioDelta(responseID: "r2", audioMs: 100)).playsAudio)
        XCTAssertEqual(d.state, .speaking)
        XCTAssertEqual(d.machine.counters.bargeIns, 1)
    }

    func testBargeInBeforeTheResponseExistedIgnoresThatResponse() {
        var d = ApplianceFixture.thinking.make(.pushToTalk)
        XCTAssertTrue(d.press().contains(.cancelResponse))
        d.release(after: .seconds(1))
        // The response to the first turn is created after all (our cancel stops it): the session
        // manager reports it stale (the new turn's create is still held behind it), so it is ignored.
        d.server(.responseCreated(responseID: "old", stale: true))
        XCTAssertFalse(d.server(.audioDelta(responseID: "old", audioMs: 100)).playsAudio)
        XCTAssertEqual(d.state, .thinking)
        d.server(.responseCreated(responseID: "new"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "new", audioMs: 100)).playsAudio)
    }

    func testTurnCutByTheLinkIsReplayedAfterReconnect() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        d.press()
        let lost = d.send(.linkLost, after: .seconds(2))
        XCTAssertEqual(d.state, .offline)
        XCTAssertTrue(lost.contains(.stopStreaming))
        XCTAssertFalse(lost.contains(.earcon(.error)))
        XCTAssertTrue(d.machine.hasPendingReplay)
        XCTAssertEqual(d.release(after: .seconds(1)), [])  // the cut press's release
        d.send(.linkConnecting, after: .seconds(1))
        let ready = d.send(.linkReady, after: .seconds(1))
        XCTAssertEqual(ready.filter(\.goesToSession), [.clearInputBuffer, .replayTurn, .commit, .createResponse])
        XCTAssertEqual(d.state, .thinking)
        d.server(.responseCreated(responseID: "r9"))
        d.server(.audioDelta(responseID: "r9", audioMs: 300))
        d.server(.responseDone(responseID: "r9", status: "completed"))
        d.send(.playbackDrained, after: .seconds(1))
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.machine.counters.turnsReplayed, 1)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        XCTAssertEqual(leds(d.log), [.listening, .offline, .connecting, .thinking, .speaking, .ready])
    }

    func testTurnSentButNotConfirmedIsReplayedToo() {
        var d = ApplianceFixture.thinking.make(.toggle)
        d.send(.linkLost)
        XCTAssertTrue(d.machine.hasPendingReplay)
        XCTAssertTrue(d.send(.linkReady, after: .seconds(2)).contains(.replayTurn))
    }

    func testReplayWindowExpiresWithTheErrorEarcon() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        d.press()
        let lost = d.send(.linkLost, after: .seconds(1))
        XCTAssertTrue(lost.contains { if case .startTimer(let t, let after) = $0 { t.kind == .replay && after == .seconds(20) } else { false } })
        let expired = d.fire(.replay, after: .seconds(20))
        XCTAssertTrue(expired.contains(.earcon(.error)))
        XCTAssertFalse(d.machine.hasPendingReplay)
        XCTAssertFalse(d.send(.linkReady).contains(.replayTurn))
        XCTAssertEqual(d.machine.counters.turnsFailed, 1)
    }

    func testConfirmedTurnLostWithTheLinkEndsWithTheErrorEarcon() {
        var d = ApplianceFixture.thinking.make(.pushToTalk)
        d.server(.committed)
        let a = d.send(.linkLost)
        XCTAssertTrue(a.contains(.earcon(.error)))
        XCTAssertFalse(d.machine.hasPendingReplay)
        XCTAssertFalse(d.send(.linkReady).contains(.replayTurn))
    }

    func testPressWhileOfflineQueuesNothingEver() {
        var d = ApplianceFixture.offline.make(.pushToTalk)
        var all: [ApplianceAction] = []
        all += d.press()
        all += d.send(.button(.longPress), after: .seconds(1)).filter { $0 != .reconnect }
        all += d.release(after: .seconds(2))
        XCTAssertTrue(all.contains(.earcon(.error)))
        XCTAssertTrue(all.contains(.setLEDs(.offline)))
        XCTAssertFalse(all.contains(where: \.goesToSession))
        // Back online: nothing from the refused press is sent.
        var d2 = ApplianceFixture.offline.make(.pushToTalk)
        d2.press()
        d2.release(after: .seconds(1))
        XCTAssertEqual(d2.send(.linkReady).filter(\.goesToSession), [])
        XCTAssertEqual(d2.machine.counters.pressesRefused, 1)
        XCTAssertEqual(d2.machine.counters.turnsStarted, 0)
    }

    func testNoAnswerEndsWithTheErrorEarcon() {
        var d = ApplianceFixture.thinking.make(.pushToTalk)
        let a = d.fire(.response, after: .seconds(15))
        XCTAssertTrue(a.contains(.cancelResponse))
        XCTAssertTrue(a.contains(.earcon(.error)))
        XCTAssertEqual(d.state, .ready)
    }

    func testAnAnswerThatGoesQuietEndsAfterTheIdleTimeout() {
        var d = ApplianceFixture.speaking.make(.pushToTalk)
        // Activity 2 s later pushes the idle deadline back.
        d.server(.audioDelta(responseID: "r1", audioMs: 1000), after: .seconds(2))
        let early = d.fire(.answerIdle, after: .seconds(3))
        XCTAssertFalse(early.contains(.endOfAnswer))
        XCTAssertTrue(early.contains { if case .startTimer(let t, _) = $0 { t.kind == .answerIdle } else { false } })
        XCTAssertTrue(d.fire(.answerIdle, after: .seconds(2)).contains(.endOfAnswer))
        // Playback never reports drained: the drain timer ends the turn.
        XCTAssertTrue(d.fire(.drain, after: .seconds(5)).contains(.setLEDs(.ready)))
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
    }

    func testWholeAnswerKeepsPlayingWhenTheLinkDrops() {
        var d = ApplianceFixture.speakingEnded.make(.pushToTalk)
        XCTAssertFalse(d.send(.linkLost).contains(.flushPlayback))
        XCTAssertEqual(d.state, .speaking)
        d.send(.playbackDrained, after: .milliseconds(500))
        XCTAssertEqual(d.state, .offline)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
    }

    func testDoublePressDuringTheTurnItStartedRunsTheAction() {
        var d = ApplianceFixture.ready.make(.pushToTalk)  // double press = mute
        d.press()
        d.release(after: .milliseconds(60))
        d.press(after: .milliseconds(100))
        let a = d.send(.button(.doublePress), after: .zero)
        XCTAssertTrue(a.contains(.stopStreaming))
        XCTAssertTrue(a.contains(.clearInputBuffer))
        XCTAssertTrue(a.contains(.earcon(.mute)))
        XCTAssertEqual(d.state, .muted)
        XCTAssertEqual(d.release(), [])
    }

    func testLongPressReconnects() {
        var d = ApplianceFixture.ready.make(.toggle)
        d.press()
        let a = d.send(.button(.longPress), after: .seconds(3))
        XCTAssertTrue(a.contains(.reconnect))
        XCTAssertEqual(d.state, .connecting)
        XCTAssertEqual(d.send(.button(.release)), [])
        d.send(.linkReady)
        XCTAssertEqual(d.state, .ready)
    }

    func testToggleTurn() {
        var d = ApplianceFixture.ready.make(.toggle)
        d.tap()
        XCTAssertEqual(d.state, .listening)
        let stop = d.tap(after: .seconds(3))
        XCTAssertTrue(stop.contains(.commit))
        XCTAssertEqual(d.state, .thinking)
        d.server(.responseCreated(responseID: "a"))
        d.server(.audioDelta(responseID: "a", audioMs: 500))
        // Barge-in press: listening at once; its own tap does not stop the new turn.
        let barge = d.tap()
        XCTAssertTrue(barge.contains(.cancelResponse))
        XCTAssertTrue(barge.contains(.flushPlayback))
        XCTAssertEqual(d.state, .listening)
        XCTAssertTrue(d.tap(after: .seconds(2)).contains(.commit))
    }

    func testVADTurnBargeInAndMute() {
        var d = ApplianceDriver(mode: .vad)
        XCTAssertTrue(d.send(.linkReady).contains(.startStreaming(record: false)))
        d.server(.speechStarted)
        XCTAssertEqual(d.state, .listening)
        d.server(.speechStopped, after: .seconds(2))
        XCTAssertEqual(d.state, .thinking)
        d.server(.committed)
        d.server(.responseCreated(responseID: "v1"))
        d.server(.audioDelta(responseID: "v1", audioMs: 2000))
        XCTAssertEqual(d.state, .speaking)
        // New speech while the answer plays: flush, drop the old answer, listen.
        let barge = d.server(.speechStarted, after: .milliseconds(500))
        XCTAssertTrue(barge.contains(.flushPlayback))
        XCTAssertFalse(barge.contains(.stopStreaming))
        XCTAssertEqual(d.state, .listening)
        XCTAssertFalse(d.server(.audioDelta(responseID: "v1", audioMs: 100)).playsAudio)
        d.server(.speechStopped, after: .seconds(1))
        d.server(.responseCreated(responseID: "v2"))
        d.server(.audioDelta(responseID: "v2", audioMs: 1000))
        // Press while speaking: interrupt.
        let stop = d.press()
        XCTAssertTrue(stop.contains(.cancelResponse))
        XCTAssertTrue(stop.contains(.flushPlayback))
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.release(), [])
        XCTAssertEqual(d.send(.button(.tap), after: .zero), [])  // that press's tap does not mute
        // Tap: mute, tap: unmute.
        XCTAssertTrue(d.tap().contains(.stopStreaming))
        XCTAssertEqual(d.state, .muted)
        XCTAssertEqual(d.server(.speechStarted), [])
        XCTAssertTrue(d.tap().contains(.startStreaming(record: false)))
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.machine.counters.bargeIns, 2)
    }

    func testVADInterruptBeforeTheResponseIgnoresItUntilNewSpeech() {
        var d = ApplianceFixture.thinking.make(.vad)
        d.press()
        XCTAssertEqual(d.state, .ready)
        d.server(.responseCreated(responseID: "late"))
        XCTAssertFalse(d.server(.audioDelta(responseID: "late", audioMs: 100)).playsAudio)
        XCTAssertEqual(d.state, .ready)
        d.server(.speechStarted)
        d.server(.speechStopped)
        d.server(.responseCreated(responseID: "fresh"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "fresh", audioMs: 100)).playsAudio)
    }

    func testVADVoiceBargeInBeforeTheResponseTakesTheNewAnswer() {
        var d = ApplianceFixture.thinking.make(.vad)
        d.server(.speechStarted)  // the user goes on talking before any answer came
        XCTAssertEqual(d.state, .listening)
        d.server(.responseCreated(responseID: "old"))  // the answer to the first part: dropped
        XCTAssertFalse(d.server(.audioDelta(responseID: "old", audioMs: 100)).playsAudio)
        d.server(.speechStopped, after: .seconds(1))
        d.server(.responseCreated(responseID: "new"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "new", audioMs: 100)).playsAudio)
        XCTAssertEqual(d.state, .speaking)
    }

    func testAudioDeviceLossAndReturn() {
        var d = ApplianceFixture.speaking.make(.pushToTalk)
        let lost = d.send(.audioDeviceLost)
        XCTAssertTrue(lost.contains(.cancelResponse))
        XCTAssertTrue(lost.contains(.flushPlayback))
        XCTAssertTrue(lost.contains(.earcon(.error)))
        XCTAssertEqual(d.state, .error)
        XCTAssertTrue(d.press().contains(.earcon(.error)))
        d.release()
        d.send(.audioDeviceBack)
        XCTAssertEqual(d.state, .ready)
    }

    func testAuthFailureShowsErrorUntilTheLinkWorks() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        d.send(.linkLost)
        d.send(.linkAuthFailed)
        XCTAssertEqual(d.state, .error)
        d.send(.linkConnecting)
        XCTAssertEqual(d.state, .connecting)
        d.send(.linkAuthFailed)
        XCTAssertEqual(d.state, .error)
        XCTAssertTrue(d.send(.linkReady).contains(.earcon(.ready)))
    }

    func testTextOnlyAnswerCompletesWithoutPlayback() {
        var d = ApplianceFixture.thinkingCreated.make(.pushToTalk)
        d.server(.assistantTranscript(responseID: "r1", text: "42"))
        let a = d.server(.responseDone(responseID: "r1", status: "completed"))
        XCTAssertFalse(a.contains(.endOfAnswer))
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        var f = ApplianceFixture.thinkingCreated.make(.pushToTalk)
        XCTAssertTrue(f.server(.responseDone(responseID: "r1", status: "failed")).contains(.earcon(.error)))
    }

    // MARK: Inputs and status

    func testSessionEventsMapToMachineEvents() {
        let ref = ContentRef(responseID: "r", itemID: "i", outputIndex: 0, contentIndex: 0)
        XCTAssertEqual(ApplianceEvent(SessionEvent.stateChanged(.connecting)), .linkConnecting)
        XCTAssertEqual(ApplianceEvent(SessionEvent.stateChanged(.configuring)), .linkConnecting)
        XCTAssertNil(ApplianceEvent(SessionEvent.stateChanged(.ready)))
        XCTAssertEqual(ApplianceEvent(SessionEvent.ready), .linkReady)
        XCTAssertEqual(ApplianceEvent(SessionEvent.stateChanged(.waitingToReconnect(until: .zero, reason: .connectTimeout))), .linkLost)
        XCTAssertEqual(ApplianceEvent(SessionEvent.stateChanged(.authFailed(until: .zero, reason: .connectTimeout))), .linkAuthFailed)
        XCTAssertEqual(ApplianceEvent(SessionEvent.stateChanged(.disconnected)), .linkStopped)
        XCTAssertEqual(ApplianceEvent(SessionEvent.linkLost(.connectTimeout)), .linkLost)
        XCTAssertEqual(ApplianceEvent(SessionEvent.serverError(code: nil, message: "x", type: "invalid_request_error", recoverable: true)),
                       .server(.error(code: nil, message: "x")))
        XCTAssertNil(ApplianceEvent(SessionEvent.serverError(code: nil, message: "x", type: "server_error", recoverable: false)))
        XCTAssertNil(ApplianceEvent(SessionEvent.droppedAudio(total: 3)))
        XCTAssertEqual(ApplianceEvent(SessionEvent.server(ServerEvent(.audioDelta(ref, delta: String(repeating: "A", count: 6400))))),
                       .server(.audioDelta(responseID: "r", audioMs: 100, base64: String(repeating: "A", count: 6400))))
        XCTAssertEqual(ApplianceEvent(SessionEvent.server(ServerEvent(.speechStarted(audioStartMs: 1, itemID: "u")))), .server(.speechStarted))
        XCTAssertEqual(ApplianceEvent(SessionEvent.server(ServerEvent(.audioTranscriptDone(ref, transcript: "hi")))),
                       .server(.assistantTranscript(responseID: "r", text: "hi")))
        XCTAssertEqual(ApplianceEvent(SessionEvent.server(ServerEvent(.inputTranscriptionCompleted(itemID: "u", contentIndex: 0, transcript: "yo")))),
                       .server(.userTranscript("yo")))
        XCTAssertNil(ApplianceEvent(SessionEvent.server(ServerEvent(.error(ErrorDetail(message: "m"))))))
        XCTAssertNil(ApplianceEvent(SessionEvent.server(ServerEvent(.audioTranscriptDelta(ref, delta: "h")))))
    }

    func testAudioDeltaLength() {
        // 4800 bytes = 2400 samples = 100 ms at 24 kHz = 6400 Base64 characters.
        XCTAssertEqual(ApplianceServerSignal.audioMs(base64Count: 6400), 100)
        XCTAssertEqual(ApplianceServerSignal.audioMs(base64Count: 0), 0)
    }

    func testStatusJSONRoundTripAndText() throws {
        var d = ApplianceFixture.speaking.make(.pushToTalk)
        d.send(.playbackStarted, after: .milliseconds(42))
        let s = d.machine.status(connection: "ready", reconnects: 2, droppedFrames: 3, xruns: 4, underruns: 5)
        let json = s.json
        XCTAssertTrue(json.hasPrefix("{\"state\":\"speaking\""), json)
        XCTAssertFalse(json.contains("\n"))
        let parsed = try XCTUnwrap(ApplianceStatus(json: json))
        XCTAssertEqual(parsed, s)
        XCTAssertEqual(parsed.counters.reconnects, 2)
        XCTAssertEqual(parsed.counters.underruns, 5)
        XCTAssertEqual(parsed.lastTurn?.firstDeltaToFirstSample, .milliseconds(42))
        XCTAssertTrue(s.text.contains("state:       speaking"), s.text)
        XCTAssertTrue(s.text.contains("first delta→first sample 42 ms"), s.text)
        XCTAssertNil(ApplianceStatus(json: "ok"))
        // The session's lifecycle and the failures by cause.
        var full = s
        full.session = ApplianceStatus.Session(age: .milliseconds(12_345), renewals: 7, routineCloses: 2, outages: 1)
        full.counters.failedByCause = ["link-down": 1, "no-response": 2]
        full.counters.resent = 3
        full.counters.answersCut = 1
        full.counters.invalidAudio = 4
        XCTAssertEqual(ApplianceStatus(json: full.json), full)
        XCTAssertTrue(full.json.contains("\"session\":{\"age_s\":12.345,\"renewals\":7,\"routine_closes\":2,\"outages\":1}"), full.json)
        XCTAssertTrue(full.text.contains("session:     age 12 s, renewals 7, routine closes 2, outages 1"), full.text)
        XCTAssertTrue(full.text.contains("failed by:   link-down 1, no-response 2"), full.text)
        let fresh = ApplianceMachine(settings: ApplianceSettings()).status(connection: "connecting")
        XCTAssertTrue(fresh.json.contains("\"last_turn\":null"), fresh.json)
        XCTAssertEqual(ApplianceStatus(json: fresh.json), fresh)
    }

    func testTurnRecordingKeepsTheStartOfALongTurn() {
        var r = ApplianceTurnRecording(limit: 10)
        r.start()
        r.append(base64: "AAAA")
        r.append(base64: "BBBB")
        r.append(base64: "CCCC")
        XCTAssertEqual(r.chunks, ["AAAA", "BBBB"])
        XCTAssertTrue(r.truncated)
        r.start()
        XCTAssertTrue(r.isEmpty)
        XCTAssertFalse(r.truncated)
    }
}
