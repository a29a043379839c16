import XCTest
@testable import OmniCore

/// A session replaced on the service's rules is invisible: no LED change, no earcon, every press
/// taken and answered; a turn under it is re-sent whole. Failures that remain are visible.
final class ApplianceRenewalTests: XCTestCase {
    private func leds(_ a: [ApplianceAction]) -> [ApplianceState] {
        a.compactMap { if case .setLEDs(let s) = $0 { s } else { nil } }
    }

    private func sessionActions(_ a: [ApplianceAction]) -> [ApplianceAction] { a.filter(\.goesToSession) }

    private func assertInvisible(_ d: ApplianceDriver, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(d.log.contains(.earcon(.error)), "\(d.log)", file: file, line: line)
        XCTAssertFalse(d.log.contains(.earcon(.ready)), file: file, line: line)
        XCTAssertFalse(leds(d.log).contains(.offline) || leds(d.log).contains(.connecting), "\(leds(d.log))",
                       file: file, line: line)
        XCTAssertEqual(d.machine.counters.pressesRefused, 0, file: file, line: line)
        XCTAssertEqual(d.machine.counters.turnsFailed, 0, file: file, line: line)
    }

    private func answer(_ d: inout ApplianceDriver, _ id: String) {
        d.server(.responseCreated(responseID: id))
        d.server(.audioDelta(responseID: id, audioMs: 500))
        d.server(.responseDone(responseID: id, status: "completed"))
        d.send(.playbackDrained, after: .milliseconds(600))
    }

    func testRenewalWithoutATurnShowsNothing() {
        for mode in InteractionMode.allCases {
            var d = ApplianceFixture.ready.make(mode)
            let a = d.send(.linkRenewing) + d.send(.linkReady, after: .milliseconds(300))
            XCTAssertEqual(a.filter { if case .logNotice = $0 { false } else { true } }, [], "\(mode)")
            XCTAssertEqual(d.state, .ready)
        }
    }

    func testPressDuringARenewalIsTakenAndItsAudioGoesToTheNewSessionWhole() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        d.send(.linkRenewing)
        let press = d.press()
        XCTAssertEqual(d.state, .listening)
        XCTAssertEqual(Array(press.prefix(2)), [.startStreaming(record: true), .holdCapture])
        let release = d.release(after: .seconds(2))
        XCTAssertEqual(d.state, .thinking)
        XCTAssertFalse(release.contains(.commit), "nothing to commit on the old session")
        XCTAssertTrue(release.contains(.earcon(.send)))
        let ready = d.send(.linkReady, after: .milliseconds(300))
        XCTAssertEqual(sessionActions(ready), [.clearInputBuffer, .replayTurn, .commit, .createResponse])
        answer(&d, "r1")
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        XCTAssertEqual(d.machine.counters.turnsResent, 1)
        assertInvisible(d)
    }

    func testRenewalWhileListeningHoldsTheTurnAndTheReleaseCommitsOnTheNewSession() {
        var d = ApplianceFixture.listening.make(.pushToTalk)
        XCTAssertEqual(d.send(.linkRenewing, after: .seconds(1)), [.holdCapture])
        let ready = d.send(.linkReady, after: .milliseconds(200))
        XCTAssertEqual(sessionActions(ready), [.clearInputBuffer, .replayTurn])
        XCTAssertEqual(d.state, .listening)
        let release = d.release(after: .seconds(1))
        XCTAssertEqual(sessionActions(release), [.commit, .createResponse])
        answer(&d, "r1")
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        assertInvisible(d)
    }

    func testRenewalWhileWaitingForTheAnswerAsksTheNewSession() {
        for fixture in [ApplianceFixture.thinking, .thinkingCreated] {
            var d = fixture.make(.pushToTalk)
            d.send(.linkRenewing)
            let ready = d.send(.linkReady, after: .milliseconds(200))
            XCTAssertEqual(sessionActions(ready), [.clearInputBuffer, .replayTurn, .commit, .createResponse], "\(fixture)")
            answer(&d, "r2")
            XCTAssertEqual(d.machine.counters.turnsAnswered, 1, "\(fixture)")
            assertInvisible(d)
        }
    }

    func testARenewalThatFailsIsAnOutageAndTheTurnIsReplayed() {
        var d = ApplianceFixture.ready.make(.pushToTalk)
        d.send(.linkRenewing)
        d.press()
        d.send(.linkLost, after: .seconds(1))
        XCTAssertEqual(d.state, .offline)
        XCTAssertTrue(d.machine.hasPendingReplay)
        let ready = d.send(.linkReady, after: .seconds(1))
        XCTAssertEqual(sessionActions(ready), [.clearInputBuffer, .replayTurn, .commit, .createResponse])
    }

    func testAnAnswerCutByTheSessionEndFailsVisibly() {
        var d = ApplianceFixture.speaking.make(.pushToTalk)
        let a = d.send(.linkRenewing)
        XCTAssertTrue(a.contains(.flushPlayback))
        XCTAssertTrue(a.contains(.earcon(.error)))
        XCTAssertTrue(a.contains(.flashLEDs(.error)))
        XCTAssertEqual(d.machine.counters.failures, [.sessionEnded: 1])
        XCTAssertEqual(d.state, .ready)
        // A whole answer plays on.
        var e = ApplianceFixture.speakingEnded.make(.pushToTalk)
        XCTAssertEqual(e.send(.linkRenewing), [])
        XCTAssertEqual(e.state, .speaking)
    }

    func testHandsFreeKeepsStreamingThroughARenewal() {
        var d = ApplianceFixture.ready.make(.vad)
        XCTAssertTrue(d.machine.streaming)
        d.send(.linkRenewing)
        XCTAssertTrue(d.machine.streaming)
        d.send(.linkReady)
        d.server(.speechStarted)
        XCTAssertEqual(d.state, .listening)
        d.server(.speechStopped, after: .seconds(1))
        answer(&d, "r1")
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        assertInvisible(d)
    }

    /// The service's idle close in the middle of an utterance: the new session gets the whole
    /// utterance (from just before its start) and its VAD answers it.
    func testHandsFreeUtteranceUnderARenewalIsSentWholeToTheNewSession() {
        var d = ApplianceFixture.ready.make(.vad)
        XCTAssertTrue(d.server(.speechStarted).contains(.recordUtterance(true)))
        XCTAssertEqual(d.send(.linkRenewing, after: .milliseconds(500)), [.holdCapture])
        XCTAssertTrue(d.machine.streaming)
        let ready = d.send(.linkReady, after: .milliseconds(100))
        XCTAssertEqual(ready.filter(\.goesToSession), [.clearInputBuffer, .replayTurn])
        d.server(.speechStarted)  // the new session hears the start again: the same turn
        XCTAssertTrue(d.server(.speechStopped, after: .seconds(1)).contains(.recordUtterance(false)))
        answer(&d, "r1")
        XCTAssertEqual(d.machine.counters.turnsStarted, 1)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
        XCTAssertEqual(d.machine.counters.turnsResent, 1)
        assertInvisible(d)
    }

    func testATurnThatCannotBeResentFailsVisiblyAndIsCounted() {
        var d = ApplianceFixture.offlineWithReplay.make(.pushToTalk)
        let a = d.fire(.replay, after: .seconds(20))
        XCTAssertTrue(a.contains(.earcon(.error)))
        XCTAssertTrue(a.contains(.flashLEDs(.error)))
        XCTAssertEqual(a.filter { if case .logNotice = $0 { true } else { false } }.count, 1, "one log line")
        XCTAssertEqual(d.machine.counters.failures, [.linkDown: 1])
        XCTAssertEqual(d.machine.counters.turnsFailed, 1)
    }

    // MARK: Barge-in

    func testBargeInBeforeResponseCreatedNeverSwallowsTheNextAnswer() {
        var d = ApplianceFixture.thinking.make(.pushToTalk)
        XCTAssertTrue(d.press().contains(.cancelResponse))
        // The old response never comes (the service dropped it): nothing is left to swallow.
        d.release(after: .seconds(1))
        d.server(.responseCreated(responseID: "new"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "new", audioMs: 100)).playsAudio)
        // The old response arriving while the new turn is still being spoken is ignored.
        var e = ApplianceFixture.thinking.make(.pushToTalk)
        e.press()
        e.server(.responseCreated(responseID: "old"))
        XCTAssertFalse(e.server(.audioDelta(responseID: "old", audioMs: 100)).playsAudio)
        e.release(after: .seconds(1))
        e.server(.responseCreated(responseID: "new"))
        XCTAssertTrue(e.server(.audioDelta(responseID: "new", audioMs: 100)).playsAudio)
    }

    func testBargeInAfterResponseDoneWhilePlayingFlushesWithoutCancel() {
        var d = ApplianceFixture.speakingEnded.make(.pushToTalk)
        let a = d.press()
        XCTAssertTrue(a.contains(.flushPlayback))
        XCTAssertFalse(a.contains(.cancelResponse))
        d.release(after: .seconds(1))
        d.server(.responseCreated(responseID: "r2"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "r2", audioMs: 100)).playsAudio)
    }

    // MARK: Bounds

    func testAnAnswerOverTheCapIsCancelledCountedAndWhatCamePlays() {
        var d = ApplianceDriver(ApplianceSettings(maxAnswer: .seconds(2)))
        d.send(.linkReady)
        d.press()
        d.release(after: .seconds(1))
        d.server(.responseCreated(responseID: "r1"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "r1", audioMs: 1000)).playsAudio)
        XCTAssertTrue(d.server(.audioDelta(responseID: "r1", audioMs: 1000)).playsAudio)
        let over = d.server(.audioDelta(responseID: "r1", audioMs: 1000))
        XCTAssertFalse(over.playsAudio)
        XCTAssertTrue(over.contains(.cancelResponse))
        XCTAssertTrue(over.contains(.endOfAnswer))
        XCTAssertFalse(d.server(.audioDelta(responseID: "r1", audioMs: 1000)).playsAudio)
        XCTAssertEqual(d.machine.counters.answersCut, 1)
        d.send(.playbackDrained, after: .seconds(2))
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.machine.counters.turnsAnswered, 1)
    }

    func testAFloodFarAheadOfTheSpeakerIsCut() {
        var d = ApplianceDriver(ApplianceSettings(maxQueuedAnswer: .seconds(5)))
        d.send(.linkReady)
        d.press()
        d.release(after: .seconds(1))
        var played = 0
        for _ in 0..<100 {
            // 100 ms of audio every 2 ms: 50 times real time.
            if d.server(.audioDelta(responseID: "r1", audioMs: 100), after: .milliseconds(2)).playsAudio { played += 1 }
        }
        XCTAssertEqual(d.machine.counters.answersCut, 1)
        XCTAssertLessThanOrEqual(played, 52)
    }

    // MARK: Session events → machine events

    func testLinkFeedHidesTheConnectingOfAQuietRenewal() {
        var f = ApplianceLinkFeed()
        let quiet: [SessionEvent] = [.renewing(.idle), .stateChanged(.closing), .stateChanged(.connecting),
                                     .stateChanged(.configuring), .stateChanged(.ready), .ready]
        XCTAssertEqual(quiet.compactMap { f.event(for: $0) }, [.linkRenewing, .linkReady])
        let failing: [SessionEvent] = [.renewing(.sessionCap), .stateChanged(.connecting), .linkLost(.connectTimeout),
                                       .stateChanged(.waitingToReconnect(until: .zero, reason: .connectTimeout)),
                                       .stateChanged(.connecting)]
        XCTAssertEqual(failing.compactMap { f.event(for: $0) }, [.linkRenewing, .linkLost, .linkLost, .linkConnecting])
        XCTAssertEqual(f.event(for: .responseStarted(responseID: "r", stale: true)),
                       .server(.responseCreated(responseID: "r", stale: true)))
    }
}
