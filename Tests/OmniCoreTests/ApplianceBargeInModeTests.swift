import XCTest
@testable import OmniCore

/// `[session] barge_in` = voice | button | off, driven through the machine's transition function
/// in every interaction mode: what speech over the answer and a press during it do.
final class ApplianceBargeInModeTests: XCTestCase {
    /// A machine of `mode` and `bargeIn` whose answer (response "r1", 2 s of audio) is playing.
    func speaking(_ mode: InteractionMode, _ bargeIn: BargeInMode,
                  longPress: ApplianceGestureAction = .reconnect) -> ApplianceDriver {
        var d = thinking(mode, bargeIn, longPress: longPress)
        d.server(.responseCreated(responseID: "r1"))
        d.server(.audioDelta(responseID: "r1", audioMs: 2000))
        XCTAssertEqual(d.state, .speaking)
        d.log = []
        return d
    }

    /// A machine whose turn was sent and whose answer has not started.
    func thinking(_ mode: InteractionMode, _ bargeIn: BargeInMode,
                  longPress: ApplianceGestureAction = .reconnect) -> ApplianceDriver {
        var d = ApplianceDriver(ApplianceSettings(mode: mode, bargeIn: bargeIn, longPressAction: longPress))
        d.send(.linkReady)
        switch mode {
        case .pushToTalk: d.press(); d.release(after: .seconds(1))
        case .toggle: d.tap(); d.tap(after: .seconds(1))
        case .vad: d.server(.speechStarted); d.server(.speechStopped, after: .seconds(1))
        }
        XCTAssertEqual(d.state, .thinking)
        d.log = []
        return d
    }

    // MARK: voice

    func testVoiceBargeInCancelsTheActiveResponseFlushesAndListens() {
        var d = speaking(.vad, .voice)
        let a = d.server(.speechStarted, after: .milliseconds(700))
        XCTAssertEqual(d.state, .listening)
        XCTAssertTrue(a.contains(.cancelResponse), "\(a)")
        XCTAssertTrue(a.contains(.flushPlayback), "\(a)")
        XCTAssertTrue(a.contains(.recordUtterance(true)), "the new question is recorded: \(a)")
        XCTAssertFalse(a.contains(.stopStreaming), "the microphone keeps going: \(a)")
        XCTAssertLessThan(a.firstIndex(of: .cancelResponse)!, a.firstIndex(of: .setLEDs(.listening))!)
        XCTAssertEqual(d.machine.counters.bargeIns, 1)
        // The old answer's stragglers are dropped; the new question is answered.
        XCTAssertFalse(d.server(.audioDelta(responseID: "r1", audioMs: 100)).playsAudio)
        d.server(.speechStopped, after: .seconds(1))
        d.server(.responseCreated(responseID: "r2"))
        XCTAssertTrue(d.server(.audioDelta(responseID: "r2", audioMs: 100)).playsAudio)
        XCTAssertEqual(d.state, .speaking)
    }

    func testVoiceBargeInBeforeAnyResponseSendsNoCancel() {
        var d = thinking(.vad, .voice)
        let a = d.server(.speechStarted)
        XCTAssertEqual(d.state, .listening)
        XCTAssertFalse(a.contains(.cancelResponse), "nothing is active to cancel: \(a)")
        XCTAssertFalse(a.contains(.flushPlayback), "nothing plays: \(a)")
    }

    func testVoiceBargeInAfterTheResponseWasCreatedCancelsIt() {
        var d = thinking(.vad, .voice)
        d.server(.responseCreated(responseID: "r1"))
        let a = d.server(.speechStarted)
        XCTAssertTrue(a.contains(.cancelResponse), "\(a)")
        XCTAssertEqual(d.state, .listening)
    }

    func testVoiceBargeInAfterTheResponseEndedOnlyStopsThePlayback() {
        var d = speaking(.vad, .voice)
        d.server(.responseDone(responseID: "r1", status: "completed"))
        let a = d.server(.speechStarted)
        XCTAssertFalse(a.contains(.cancelResponse), "the response is over: \(a)")
        XCTAssertTrue(a.contains(.flushPlayback), "\(a)")
        XCTAssertEqual(d.state, .listening)
    }

    // MARK: button and off in vad mode: the uplink rests during the answer

    func testButtonModeIgnoresSpeechAndMutesTheUplinkDuringTheAnswer() {
        var d = ApplianceDriver(ApplianceSettings(mode: .vad, bargeIn: .button))
        XCTAssertTrue(d.send(.linkReady).contains(.startStreaming(record: false)))
        d.server(.speechStarted)
        XCTAssertEqual(d.state, .listening)
        let stop = d.server(.speechStopped, after: .seconds(1))
        XCTAssertEqual(d.state, .thinking)
        XCTAssertTrue(stop.contains(.stopStreaming), "no audio goes out while the answer is under way: \(stop)")
        XCTAssertFalse(d.machine.streaming)
        d.server(.responseCreated(responseID: "r1"))
        d.server(.audioDelta(responseID: "r1", audioMs: 1000))
        // Speech the service heard before the uplink stopped: ignored.
        XCTAssertEqual(d.server(.speechStarted), [])
        XCTAssertEqual(d.state, .speaking)
        XCTAssertTrue(d.server(.audioDelta(responseID: "r1", audioMs: 100)).playsAudio, "the answer goes on")
        d.server(.responseDone(responseID: "r1", status: "completed"))
        let done = d.send(.playbackDrained, after: .seconds(1))
        XCTAssertEqual(d.state, .ready)
        XCTAssertTrue(done.contains(.startStreaming(record: false)), "listening again once the answer is over: \(done)")
        XCTAssertEqual(d.machine.counters.bargeIns, 0)
    }

    func testButtonModeUplinkRestsAlsoWhenTheAnswerCameWithoutSpeechEvents() {
        var d = ApplianceDriver(ApplianceSettings(mode: .vad, bargeIn: .button))
        d.send(.linkReady)
        let a = d.server(.responseCreated(responseID: "r1"))
        XCTAssertEqual(d.state, .thinking)
        XCTAssertTrue(a.contains(.stopStreaming), "\(a)")
    }

    func testButtonModePressStillInterruptsInVAD() {
        var d = speaking(.vad, .button)
        let a = d.press()
        XCTAssertTrue(a.contains(.cancelResponse), "\(a)")
        XCTAssertTrue(a.contains(.flushPlayback), "\(a)")
        XCTAssertTrue(a.contains(.startStreaming(record: false)), "the uplink is back: \(a)")
        XCTAssertEqual(d.state, .ready)
        XCTAssertEqual(d.machine.counters.bargeIns, 1)
    }

    func testOffIgnoresSpeechAndRefusesThePressInVAD() {
        var d = speaking(.vad, .off)
        XCTAssertFalse(d.machine.streaming)
        XCTAssertEqual(d.server(.speechStarted), [])
        let a = d.press()
        XCTAssertEqual(d.state, .speaking)
        XCTAssertFalse(a.contains(.flushPlayback), "\(a)")
        XCTAssertFalse(a.contains(.cancelResponse), "\(a)")
        XCTAssertTrue(a.contains(.earcon(.error)), "\(a)")
        XCTAssertTrue(a.contains { if case .logNotice(let m) = $0 { m.contains("barge_in") } else { false } }, "\(a)")
        XCTAssertEqual(d.release(), [])
        XCTAssertEqual(d.send(.button(.tap), after: .zero), [], "the refused press's tap does not mute")
        XCTAssertEqual(d.machine.counters.pressesRefused, 1)
        XCTAssertEqual(d.machine.counters.bargeIns, 0)
    }

    // MARK: every mode

    func testAPressBargesInDuringTheAnswerInEveryModeUnlessOff() {
        for mode in InteractionMode.allCases {
            for bargeIn in [BargeInMode.voice, .button] {
                for atSpeaking in [true, false] {
                    var d = atSpeaking ? speaking(mode, bargeIn) : thinking(mode, bargeIn)
                    if !atSpeaking { d.server(.responseCreated(responseID: "r1")) }
                    let a = d.press()
                    let what = "\(mode) \(bargeIn) \(atSpeaking ? "speaking" : "thinking"): \(a)"
                    XCTAssertTrue(a.contains(.cancelResponse), what)
                    XCTAssertEqual(a.contains(.flushPlayback), atSpeaking, what)
                    XCTAssertEqual(d.machine.counters.bargeIns, 1, what)
                    switch mode {
                    case .pushToTalk, .toggle:
                        // The press starts the new question at once.
                        XCTAssertEqual(d.state, .listening, what)
                        XCTAssertTrue(a.contains(.startStreaming(record: true)), what)
                    case .vad:
                        // Hands-free: back to listening for speech.
                        XCTAssertEqual(d.state, .ready, what)
                    }
                }
            }
        }
    }

    func testSpeechOverTheAnswerBargesInOnlyInVADWithVoice() {
        for mode in InteractionMode.allCases {
            for bargeIn in BargeInMode.allCases {
                var d = speaking(mode, bargeIn)
                let a = d.server(.speechStarted)
                let what = "\(mode) \(bargeIn): \(a)"
                if mode == .vad && bargeIn == .voice {
                    XCTAssertEqual(d.state, .listening, what)
                    XCTAssertTrue(a.contains(.flushPlayback), what)
                } else {
                    XCTAssertEqual(a, [], what)
                    XCTAssertEqual(d.state, .speaking, what)
                }
            }
        }
    }

    func testOffRefusesThePressInEveryModeAndTheAnswerPlaysToItsEnd() {
        for mode in InteractionMode.allCases {
            var d = speaking(mode, .off)
            let a = d.press() + d.release(after: .milliseconds(100)) + d.send(.button(.tap), after: .zero)
            let what = "\(mode): \(a)"
            XCTAssertEqual(d.state, .speaking, what)
            XCTAssertFalse(a.contains(.flushPlayback), what)
            XCTAssertFalse(a.contains(.cancelResponse), what)
            XCTAssertTrue(a.contains(.earcon(.error)), what)
            XCTAssertTrue(d.server(.audioDelta(responseID: "r1", audioMs: 100)).playsAudio, what)
            d.server(.responseDone(responseID: "r1", status: "completed"))
            d.send(.playbackDrained, after: .seconds(2))
            XCTAssertEqual(d.state, .ready, what)
            XCTAssertEqual(d.machine.counters.turnsAnswered, 1, what)
            XCTAssertEqual(d.machine.counters.bargeIns, 0, what)
            // At rest a press starts a turn as usual (push-to-talk; toggle and vad use taps).
            if mode == .pushToTalk {
                d.press()
                XCTAssertEqual(d.state, .listening, what)
            }
        }
    }

    func testOffStillHonoursTheInterruptGesture() {
        for mode in InteractionMode.allCases {
            var d = speaking(mode, .off, longPress: .interrupt)
            d.press()
            let a = d.send(.button(.longPress), after: .seconds(1))
            XCTAssertTrue(a.contains(.cancelResponse), "\(mode): \(a)")
            XCTAssertTrue(a.contains(.flushPlayback), "\(mode): \(a)")
            XCTAssertEqual(d.state, .ready, "\(mode)")
        }
    }

    func testBargeInSettingComesFromTheConfig() {
        var c = OmniConfig()
        XCTAssertEqual(c.session.bargeIn, .voice)
        c.session.bargeIn = .off
        XCTAssertEqual(ApplianceSettings(config: c, board: BoardIOConfig()).bargeIn, .off)
    }
}
