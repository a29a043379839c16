import Foundation
import OmniCore
import XCTest

/// Barge-in by button, end to end in every interaction mode (real omnid on the virtual board,
/// control-socket button, real omni-sim streaming its echo answers at real-time pace so that the
/// answer is still active when the button comes): the answer stops, `response.cancel` goes out,
/// and in the manual modes the press starts the next question, which is answered. Waits are on
/// events (omnid's state, omni-sim's log), never on the wall clock.
final class OmnidButtonBargeInTests: XCTestCase {
    struct Box {
        let rig: OmnidRig
        let sim: SimProcess
        let log: String

        func clientEvents(_ type: String) -> Int {
            SimEvents(log).lines.filter { $0.dir == "client" && $0.type == type }.count
        }

        func waitState(_ s: ApplianceState) -> Bool {
            rig.waitFor { $0.status()?.state == s }
        }

        /// Until omni-sim has received `n` more 100 ms chunks of the microphone.
        func waitForAudio(_ n: Int) -> Bool {
            let start = clientEvents("input_audio_buffer.append")
            return eventually { clientEvents("input_audio_buffer.append") >= start + n }
        }
    }

    /// omnid in a manual mode whose microphone says the question over and over.
    func start(_ mode: String, bargeIn: String) throws -> Box {
        let rig = try OmnidRig("button-\(mode)-\(bargeIn)")
        let log = "\(rig.dir)/sim.jsonl"
        let sim = try SimProcess(arguments: ["--answer", "echo", "--speed", "1", "--log", log, "--log-audio", "false"])
        addTeardownBlock { sim.child.terminateAndWait() }
        let question = try WAV.decode(Array(Data(contentsOf: Binaries.repoRoot
            .appendingPathComponent("Tests/Fixtures/audio/question.wav")))).samples
        let pause = [Int16](repeating: 0, count: 4_800)
        try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: Array(repeating: question + pause, count: 30).flatMap { $0 })
        try rig.writeConfig(url: sim.url, mode: mode, microphone: "\(rig.dir)/mic.wav",
                            session: ["barge_in = \"\(bargeIn)\""])
        try rig.start()
        XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: ready") }, rig.stderr)
        return Box(rig: rig, sim: sim, log: log)
    }

    /// A question, its answer interrupted by the button, the next question answered.
    func manualBargeIn(_ mode: String, bargeIn: String = "voice") throws {
        let b = try start(mode, bargeIn: bargeIn)
        let begin = mode == "toggle" ? "tap" : "press"
        let end = mode == "toggle" ? "tap" : "release"
        XCTAssertEqual(b.rig.control(begin), "ok")
        XCTAssertTrue(b.waitState(.listening))
        XCTAssertTrue(b.waitForAudio(8))
        XCTAssertEqual(b.rig.control(end), "ok")
        XCTAssertTrue(b.waitState(.speaking), b.rig.stderr)
        // The button over the answer: stop, cancel, listen to the next question at once.
        XCTAssertEqual(b.rig.control(begin), "ok")
        XCTAssertTrue(b.waitState(.listening), b.rig.stderr)
        XCTAssertTrue(eventually { b.clientEvents("response.cancel") == 1 }, "response.cancel for the active answer")
        XCTAssertTrue(b.waitForAudio(8))
        XCTAssertEqual(b.rig.control(end), "ok")
        XCTAssertTrue(b.waitState(.speaking), b.rig.stderr)
        XCTAssertTrue(b.waitState(.ready), b.rig.stderr)
        let c = try XCTUnwrap(b.rig.status()?.counters)
        XCTAssertEqual(c.bargeIns, 1)
        XCTAssertEqual(c.cancelled, 1)
        XCTAssertEqual(c.answered, 1, "the second question was answered")
        XCTAssertEqual(c.failed, 0)
    }

    func testButtonBargeInPushToTalk() throws { try manualBargeIn("push-to-talk") }

    func testButtonBargeInToggle() throws { try manualBargeIn("toggle") }

    /// Hands-free: the press stops the answer (and cancels it); the box listens for speech again.
    func vadBargeIn(bargeIn: String) throws {
        let trials = try BargeInTrials("button-vad-\(bargeIn)", bargeIn: bargeIn)
        let mic = [Int16](repeating: 0, count: 4_800) + trials.question + [Int16](repeating: 0, count: 16_000 * 8)
        try trials.playAfterTheReadySound(mic, as: "question")
        XCTAssertTrue(trials.rig.waitFor { $0.status()?.state == .speaking }, trials.rig.stderr)
        // On a loaded machine the press can come after the answer's `response.done` while its
        // audio still plays: then there is nothing to cancel, and a cancel would be the bug.
        func events(_ dir: String, _ type: String) -> Int {
            SimEvents(trials.simLog).lines.filter { $0.dir == dir && $0.type == type }.count
        }
        let answerStillActive = events("server", "response.done") == 0
        XCTAssertEqual(trials.rig.control("press"), "ok")
        XCTAssertTrue(trials.rig.waitFor { $0.status()?.state == .ready }, trials.rig.stderr)
        XCTAssertEqual(trials.rig.control("release"), "ok")
        if answerStillActive {
            XCTAssertTrue(eventually { events("client", "response.cancel") == 1 }, "response.cancel for the active answer")
        } else {
            XCTAssertEqual(events("client", "response.cancel"), 0, "the answer was done: nothing to cancel")
        }
        let log = SimEvents(trials.simLog)
        let c = try XCTUnwrap(trials.rig.status()?.counters)
        XCTAssertEqual(c.bargeIns, 1)
        XCTAssertEqual(c.cancelled, 1)
        // Back to streaming the microphone for the next utterance.
        let appends = log.lines.filter { $0.dir == "client" && $0.type == "input_audio_buffer.append" }.count
        XCTAssertTrue(eventually { SimEvents(trials.simLog).lines.filter { $0.type == "input_audio_buffer.append" }.count > appends + 3 })
    }

    func testButtonBargeInVAD() throws { try vadBargeIn(bargeIn: "voice") }

    func testButtonBargeInVADWithBargeInButton() throws { try vadBargeIn(bargeIn: "button") }

    /// barge_in = "button" in vad mode: a second voice during the answer is not heard (the
    /// uplink rests while the answer is under way), the answer plays to its end, nothing is
    /// cancelled. The second voice (1 s of the fixture) ends before the answer does.
    func testSecondVoiceIsNotABargeInWithBargeInButton() throws {
        let trials = try BargeInTrials("voice-ignored", bargeIn: "button")
        let rate = BargeInTrials.rate
        var mic = [Int16](repeating: 0, count: rate * 3 / 10) + trials.question
        mic += [Int16](repeating: 0, count: Int((BargeInTrials.expectedAnswerDelay + 0.4) * Double(rate)))
        mic += trials.bargeIn.prefix(rate) + [Int16](repeating: 0, count: rate * 6)
        try trials.playAfterTheReadySound(mic, as: "ignored")
        XCTAssertTrue(trials.rig.waitFor { $0.status()?.state == .speaking }, trials.rig.stderr)
        XCTAssertTrue(trials.rig.waitFor { $0.status()?.state == .ready }, trials.rig.stderr)
        let c = try XCTUnwrap(trials.rig.status()?.counters)
        XCTAssertEqual(c.turns, 1)
        XCTAssertEqual(c.answered, 1, "the answer played to its end")
        XCTAssertEqual(c.bargeIns, 0)
        let log = SimEvents(trials.simLog).lines
        XCTAssertEqual(log.filter { $0.server("input_audio_buffer.speech_started") }.count, 1, "only the question was heard")
        XCTAssertEqual(log.filter { $0.dir == "client" && $0.type == "response.cancel" }.count, 0)
    }

    /// barge_in = "off": a press during the answer is refused and the answer plays to its end.
    func testPressIsRefusedWithBargeInOff() throws {
        let b = try start("push-to-talk", bargeIn: "off")
        XCTAssertEqual(b.rig.control("press"), "ok")
        XCTAssertTrue(b.waitForAudio(8))
        XCTAssertEqual(b.rig.control("release"), "ok")
        XCTAssertTrue(b.waitState(.speaking), b.rig.stderr)
        XCTAssertEqual(b.rig.control("press"), "ok")
        XCTAssertTrue(b.rig.waitFor { $0.stderr.contains("press ignored: an answer is under way and [session] barge_in = \"off\"") },
                      b.rig.stderr)
        XCTAssertEqual(b.rig.control("release"), "ok")
        XCTAssertTrue(b.waitState(.ready), b.rig.stderr)
        let c = try XCTUnwrap(b.rig.status()?.counters)
        XCTAssertEqual(c.bargeIns, 0)
        XCTAssertEqual(c.answered, 1)
        XCTAssertEqual(b.clientEvents("response.cancel"), 0)
    }
}
