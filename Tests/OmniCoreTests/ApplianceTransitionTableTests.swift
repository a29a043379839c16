import XCTest
@testable import OmniCore

/// Every state (and the variants that matter) × every event × every mode: each pair must give a
/// defined result that keeps the machine's invariants; the important pairs are spelled out.
final class ApplianceTransitionTableTests: XCTestCase {
    func testFixturesReachTheirStates() {
        for mode in InteractionMode.allCases {
            for f in ApplianceFixture.allCases {
                let d = f.make(mode)
                XCTAssertEqual(d.state, f.state, "\(mode) \(f)")
            }
            XCTAssertTrue(ApplianceFixture.offlineWithReplay.make(mode).machine.hasPendingReplay == (mode != .vad), "\(mode)")
        }
        // Every state is covered.
        XCTAssertEqual(Set(ApplianceFixture.allCases.map(\.state)), Set(ApplianceState.allCases))
    }

    func testEveryStateTimesEveryEventKeepsTheInvariants() {
        var pairs = 0
        for mode in InteractionMode.allCases {
            for f in ApplianceFixture.allCases {
                let base = f.make(mode)
                let armed = base.machine.armedTimers.map { ApplianceEvent.timer($0) }
                for event in ApplianceEvent.allSampleCases + armed {
                    var d = base
                    let before = d.machine
                    let actions = d.send(event)
                    check(before: before, after: d.machine, event: event, actions: actions, "\(mode) \(f) + \(event)")
                    pairs += 1
                }
            }
        }
        // 3 modes × 16 fixtures × (35 sample events + armed timers)
        XCTAssertGreaterThan(pairs, 3 * 16 * 34)
    }

    /// Two events in a row from every fixture: catches states that are only reachable through
    /// an odd sequence (e.g. speaking with the link gone, or a muted VAD box mid-answer).
    func testEveryPairOfEventsKeepsTheInvariants() {
        for mode in InteractionMode.allCases {
            for f in ApplianceFixture.allCases {
                let base = f.make(mode)
                for first in ApplianceEvent.allSampleCases {
                    var d1 = base
                    d1.send(first)
                    let armed = d1.machine.armedTimers.map { ApplianceEvent.timer($0) }
                    for second in ApplianceEvent.allSampleCases + armed {
                        var d = d1
                        let before = d.machine
                        let actions = d.send(second)
                        check(before: before, after: d.machine, event: second, actions: actions,
                              "\(mode) \(f) + \(first) + \(second)")
                    }
                }
            }
        }
    }

    func check(before: ApplianceMachine, after: ApplianceMachine, event: ApplianceEvent, actions: [ApplianceAction],
               _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let mode = after.settings.mode
        // LEDs tell the truth: a change of state is shown, and the last thing shown is the state.
        let leds = actions.compactMap { if case .setLEDs(let s) = $0 { s } else { nil } }
        if before.state != after.state {
            XCTAssertEqual(leds.last, after.state, "LEDs not updated: \(what)", file: file, line: line)
        } else {
            XCTAssertTrue(leds.allSatisfy { $0 == after.state }, "LEDs show another state: \(what) \(actions)", file: file, line: line)
        }
        // Streaming actions match the flag and never repeat.
        var streaming = before.streaming
        for a in actions {
            switch a {
            case .startStreaming(let record):
                XCTAssertFalse(streaming, "started twice: \(what)", file: file, line: line)
                XCTAssertEqual(record, mode != .vad, what, file: file, line: line)
                streaming = true
            case .stopStreaming:
                XCTAssertTrue(streaming, "stopped twice: \(what)", file: file, line: line)
                streaming = false
            default: break
            }
        }
        XCTAssertEqual(streaming, after.streaming, "streaming flag: \(what)", file: file, line: line)
        // Offline never streams and queues nothing for the session (a session being replaced
        // quietly takes what is queued for it).
        if after.link != .up && after.link != .renewing {
            XCTAssertFalse(actions.contains { $0.goesToSession }, "queued while the link is down: \(what) \(actions)", file: file, line: line)
        }
        if [.connecting, .offline, .error].contains(after.state) {
            XCTAssertFalse(after.streaming, "streams in \(after.state): \(what)", file: file, line: line)
        }
        if mode == .vad {
            XCTAssertEqual(after.streaming, (after.link == .up || after.link == .renewing) && after.audioAvailable && !after.muted,
                           "VAD streaming: \(what)", file: file, line: line)
            XCTAssertFalse(actions.contains(.commit) || actions.contains(.createResponse),
                           "manual-only action in VAD: \(what)", file: file, line: line)
        } else {
            XCTAssertEqual(after.streaming, after.state == .listening, "manual streaming: \(what)", file: file, line: line)
        }
        // A turn state has a turn and vice versa.
        XCTAssertEqual(after.state.isTurn, after.hasTurn, "turn bookkeeping: \(what)", file: file, line: line)
        // Every turn that started is answered, failed (with the error earcon), cancelled, in flight or waiting for replay.
        let c = after.counters
        XCTAssertEqual(c.turnsStarted, c.turnsAnswered + c.turnsFailed + c.turnsCancelled + (after.hasTurn ? 1 : 0)
                       + (after.hasPendingReplay ? 1 : 0), "turn accounting: \(what)", file: file, line: line)
        if c.turnsFailed > before.counters.turnsFailed {
            XCTAssertTrue(actions.contains(.earcon(.error)), "a turn failed silently: \(what) \(actions)", file: file, line: line)
        }
        // Audio is played only as the answer to a delta, and only while speaking.
        if let played = actions.lazy.compactMap(\.playedAudio).first {
            guard case .server(.audioDelta(_, _, let delta)) = event else {
                return XCTFail("playAudioDelta without a delta: \(what)", file: file, line: line)
            }
            XCTAssertEqual(played, delta, "played audio is not the delta's own: \(what)", file: file, line: line)
            XCTAssertEqual(after.state, .speaking, what, file: file, line: line)
        }
        // A stale timer does nothing.
        if case .timer(let t) = event, t.generation == 999_999 {
            XCTAssertEqual(actions, [], "stale timer acted: \(what)", file: file, line: line)
        }
        // A replay is always clear → replay, then commit → response.create once the capture is
        // over (a turn held through a renewal goes on listening); only on a link that is up.
        if let i = actions.firstIndex(of: .replayTurn) {
            XCTAssertEqual(after.link, .up, what, file: file, line: line)
            XCTAssertEqual(actions[..<i].last, .clearInputBuffer, what, file: file, line: line)
            if after.state == .listening {
                XCTAssertFalse(actions.contains(.commit), what, file: file, line: line)
            } else {
                XCTAssertEqual(Array(actions[i...].prefix(3)), [.replayTurn, .commit, .createResponse], "\(what) \(actions)",
                               file: file, line: line)
            }
        }
        // Failures are visible: error earcon and error LED flash together.
        if c.turnsFailed > before.counters.turnsFailed {
            XCTAssertTrue(actions.contains(.flashLEDs(.error)), "a turn failed without the LED flash: \(what)", file: file, line: line)
        }
        XCTAssertEqual(c.failures.values.reduce(0, +), c.turnsFailed, "every failure has a cause: \(what)", file: file, line: line)
        // Timers are armed with fresh generations.
        for case .startTimer(let t, let after) in actions {
            XCTAssertGreaterThanOrEqual(after, .zero, what, file: file, line: line)
            XCTAssertFalse(before.armedTimers.contains(t), "reused timer generation: \(what)", file: file, line: line)
        }
        // Idempotent link reports: the same report twice changes nothing the second time.
        if case .linkLost = event {
            var again = after
            XCTAssertEqual(again.handle(.linkLost, at: .seconds(10_000)).filter { if case .logNotice = $0 { false } else { true } },
                           [], "second linkLost acted: \(what)", file: file, line: line)
        }
    }

    // MARK: Documented expectations for the important pairs

    struct Expect {
        var mode: InteractionMode
        var fixture: ApplianceFixture
        var event: ApplianceEvent
        var state: ApplianceState
        var contains: [ApplianceAction]
        var excludes: [ApplianceAction] = []
    }

    let table: [Expect] = [
        // push-to-talk
        Expect(mode: .pushToTalk, fixture: .ready, event: .button(.press), state: .listening,
               contains: [.startStreaming(record: true), .earcon(.listen), .setLEDs(.listening)]),
        Expect(mode: .pushToTalk, fixture: .listening, event: .button(.release), state: .ready,
               contains: [.stopStreaming, .clearInputBuffer, .earcon(.cancel)], excludes: [.commit]),  // 10 ms: too short
        Expect(mode: .pushToTalk, fixture: .speaking, event: .button(.press), state: .listening,
               contains: [.cancelResponse, .flushPlayback, .startStreaming(record: true)]),
        Expect(mode: .pushToTalk, fixture: .thinking, event: .button(.press), state: .listening,
               contains: [.cancelResponse, .startStreaming(record: true)]),
        Expect(mode: .pushToTalk, fixture: .speakingEnded, event: .button(.press), state: .listening,
               contains: [.flushPlayback, .startStreaming(record: true)], excludes: [.cancelResponse]),
        Expect(mode: .pushToTalk, fixture: .offline, event: .button(.press), state: .offline,
               contains: [.earcon(.error), .setLEDs(.offline)], excludes: [.startStreaming(record: true)]),
        Expect(mode: .pushToTalk, fixture: .connecting, event: .button(.press), state: .connecting,
               contains: [.earcon(.error), .setLEDs(.connecting)]),
        Expect(mode: .pushToTalk, fixture: .error, event: .button(.press), state: .error,
               contains: [.earcon(.error), .setLEDs(.error)]),
        Expect(mode: .pushToTalk, fixture: .errorAudio, event: .button(.press), state: .error,
               contains: [.earcon(.error)]),
        Expect(mode: .pushToTalk, fixture: .muted, event: .button(.press), state: .muted, contains: [.earcon(.mute)]),
        Expect(mode: .pushToTalk, fixture: .muted, event: .button(.doublePress), state: .ready, contains: [.earcon(.unmute)]),
        Expect(mode: .pushToTalk, fixture: .offline, event: .button(.longPress), state: .connecting, contains: [.reconnect]),
        Expect(mode: .pushToTalk, fixture: .listening, event: .button(.longPress), state: .listening, contains: []),
        // 10 ms into the turn: too short to be worth resending (see the scenario tests for replays).
        Expect(mode: .pushToTalk, fixture: .listening, event: .linkLost, state: .offline, contains: [.stopStreaming, .earcon(.error)]),
        Expect(mode: .pushToTalk, fixture: .offlineWithReplay, event: .linkReady, state: .thinking,
               contains: [.clearInputBuffer, .replayTurn, .commit, .createResponse]),
        Expect(mode: .pushToTalk, fixture: .thinking, event: .linkLost, state: .offline, contains: [],
               excludes: [.earcon(.error)]),  // not yet confirmed by the service: replayed later
        Expect(mode: .pushToTalk, fixture: .thinkingCreated, event: .linkLost, state: .offline, contains: [.earcon(.error)]),
        Expect(mode: .pushToTalk, fixture: .speaking, event: .linkLost, state: .offline, contains: [.flushPlayback, .earcon(.error)]),
        Expect(mode: .pushToTalk, fixture: .speakingEnded, event: .linkLost, state: .speaking, contains: [],
               excludes: [.flushPlayback]),
        Expect(mode: .pushToTalk, fixture: .speakingEnded, event: .playbackDrained, state: .ready, contains: [.setLEDs(.ready)]),
        Expect(mode: .pushToTalk, fixture: .speaking, event: .playbackDrained, state: .speaking, contains: []),
        Expect(mode: .pushToTalk, fixture: .thinking, event: .server(.audioDelta(responseID: "r1", audioMs: 100)),
               state: .speaking, contains: [.playAudioDelta(base64: ""), .setLEDs(.speaking)]),
        Expect(mode: .pushToTalk, fixture: .speaking, event: .server(.audioDelta(responseID: "r2", audioMs: 100)),
               state: .speaking, contains: [], excludes: [.playAudioDelta(base64: "")]),
        Expect(mode: .pushToTalk, fixture: .speaking, event: .server(.responseDone(responseID: "r1", status: "completed")),
               state: .speaking, contains: [.endOfAnswer]),
        Expect(mode: .pushToTalk, fixture: .thinking, event: .server(.error(code: nil, message: "Input audio buffer is empty")),
               state: .ready, contains: [.earcon(.error)]),
        Expect(mode: .pushToTalk, fixture: .thinking, event: .server(.error(code: nil, message: "Conversation has none active response")),
               state: .thinking, contains: []),
        Expect(mode: .pushToTalk, fixture: .thinkingCreated, event: .server(.rateLimited(message: "rate limit")),
               state: .ready, contains: [.earcon(.error), .flashLEDs(.error)]),
        Expect(mode: .pushToTalk, fixture: .listening, event: .server(.rateLimited(message: "rate limit")),
               state: .listening, contains: [], excludes: [.earcon(.error)]),  // the link loss that follows holds it for a replay
        Expect(mode: .pushToTalk, fixture: .listening, event: .audioDeviceLost, state: .error,
               contains: [.stopStreaming, .clearInputBuffer, .earcon(.error)]),
        Expect(mode: .pushToTalk, fixture: .errorAudio, event: .audioDeviceBack, state: .ready, contains: [.setLEDs(.ready)]),
        Expect(mode: .pushToTalk, fixture: .ready, event: .linkConnecting, state: .connecting, contains: [.setLEDs(.connecting)]),
        Expect(mode: .pushToTalk, fixture: .connecting, event: .linkReady, state: .ready, contains: [.earcon(.ready)]),
        Expect(mode: .pushToTalk, fixture: .connectingAfterLoss, event: .linkReady, state: .ready, contains: [.earcon(.ready)]),
        Expect(mode: .pushToTalk, fixture: .ready, event: .linkAuthFailed, state: .error, contains: [.setLEDs(.error)]),
        Expect(mode: .pushToTalk, fixture: .ready, event: .server(.speechStarted), state: .ready, contains: []),
        // toggle
        Expect(mode: .toggle, fixture: .ready, event: .button(.tap), state: .listening, contains: [.startStreaming(record: true)]),
        Expect(mode: .toggle, fixture: .ready, event: .button(.press), state: .ready, contains: []),
        Expect(mode: .toggle, fixture: .listening, event: .button(.tap), state: .ready, contains: [.clearInputBuffer]),
        Expect(mode: .toggle, fixture: .speaking, event: .button(.press), state: .listening,
               contains: [.cancelResponse, .flushPlayback, .startStreaming(record: true)]),
        Expect(mode: .toggle, fixture: .offline, event: .button(.tap), state: .offline, contains: [.earcon(.error)]),
        Expect(mode: .toggle, fixture: .muted, event: .button(.tap), state: .muted, contains: [.earcon(.mute)]),
        // vad
        Expect(mode: .vad, fixture: .ready, event: .server(.speechStarted), state: .listening, contains: [.setLEDs(.listening)]),
        Expect(mode: .vad, fixture: .listening, event: .server(.speechStopped), state: .thinking, contains: [.setLEDs(.thinking)]),
        Expect(mode: .vad, fixture: .speaking, event: .server(.speechStarted), state: .listening,
               contains: [.cancelResponse, .flushPlayback]),
        Expect(mode: .vad, fixture: .speaking, event: .button(.press), state: .ready, contains: [.cancelResponse, .flushPlayback]),
        Expect(mode: .vad, fixture: .ready, event: .button(.tap), state: .muted, contains: [.stopStreaming, .earcon(.mute)]),
        Expect(mode: .vad, fixture: .listening, event: .button(.tap), state: .muted, contains: [.stopStreaming, .clearInputBuffer]),
        Expect(mode: .vad, fixture: .muted, event: .button(.tap), state: .ready, contains: [.startStreaming(record: false), .earcon(.unmute)]),
        Expect(mode: .vad, fixture: .connecting, event: .linkReady, state: .ready, contains: [.startStreaming(record: false)]),
        Expect(mode: .vad, fixture: .ready, event: .linkLost, state: .offline, contains: [.stopStreaming]),
        Expect(mode: .vad, fixture: .listening, event: .linkLost, state: .offline, contains: [.stopStreaming, .earcon(.error)]),
        Expect(mode: .vad, fixture: .muted, event: .server(.speechStarted), state: .muted, contains: []),
    ]

    func testDocumentedExpectations() {
        for x in table {
            var d = x.fixture.make(x.mode)
            // A tap always comes after its press and release.
            let actions = x.event == .button(.tap) ? d.tap() : d.send(x.event)
            let what = "\(x.mode) \(x.fixture) + \(x.event): \(actions)"
            XCTAssertEqual(d.state, x.state, what)
            for a in x.contains { XCTAssertTrue(actions.contains(a), "missing \(a): \(what)") }
            for a in x.excludes { XCTAssertFalse(actions.contains(a), "unexpected \(a): \(what)") }
            if x.contains.isEmpty && x.excludes.isEmpty {
                XCTAssertTrue(actions.filter { if case .logNotice = $0 { false } else { true } }.isEmpty, "expected nothing: \(what)")
            }
        }
    }

    func testOrderOfBargeInActions() {
        var d = ApplianceFixture.speaking.make(.pushToTalk)
        let a = d.press().filter { if case .startTimer = $0 { false } else if case .cancelTimer = $0 { false } else { true } }
        XCTAssertEqual(a, [.cancelResponse, .flushPlayback, .startStreaming(record: true), .earcon(.listen), .setLEDs(.listening)])
    }

    func testOrderOfReleaseActions() {
        var d = ApplianceFixture.listening.make(.pushToTalk)
        let a = d.release(after: .seconds(2)).filter { if case .startTimer = $0 { false } else if case .cancelTimer = $0 { false } else { true } }
        XCTAssertEqual(a, [.stopStreaming, .commit, .createResponse, .earcon(.send), .setLEDs(.thinking)])
    }
}
