import Foundation
import OmniCore
import XCTest

/// Issue 11, point 3, with the real binaries: a press that barges in at each instant of an
/// answer — after `response.create` went out but before `response.created` came back, while the
/// answer streams, and after `response.done` while its audio still plays — cancels the old
/// response only when one is active, never swallows the new turn's answer, and never draws the
/// service's "already has an active response" (or any other) error.
///
/// Each instant is reached by waiting for an event (omni-sim's log, omnid's status), never by a
/// time: omni-sim waits 2 s before `response.created`, streams a 4 s answer at twice real time
/// (done after about 2 s, played for about 4 s), so each window is seconds wide.
final class OmnidBargeInAnyInstantTests: XCTestCase {
    func testBargeInBeforeCreatedDuringTheAnswerAndAfterDoneWhilePlaying() throws {
        let dir = try AudioTestSupport.scratchDirectory("bargein")
        defer { AudioTestSupport.remove(dir) }
        let simLogPath = "\(dir)/sim.jsonl"
        let sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "4000", "--speed", "2", "--first-delta-ms", "0",
                                             "--response-delay-ms", "2000", "--log", simLogPath, "--log-audio", "false"])
        _ = sim
        let rig = try OmnidRig("bargein")
        try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: OmnidRig.tone(seconds: 120))
        try rig.writeConfig(url: sim.url, microphone: "\(rig.dir)/mic.wav")
        try rig.start()
        XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: ready") }, rig.stderr)
        func log() -> SimLog { SimLog(simLogPath) }
        func state() -> ApplianceState? { rig.status()?.state }

        /// Press, hold until omni-sim has the audio, release.
        func ask() {
            let appended = log().count("client", "input_audio_buffer.append")
            XCTAssertEqual(rig.control("press"), "ok")
            // The 300 ms of look-back (`[audio] lookback_ms`) arrive at once: three more.
            XCTAssertTrue(eventually { log().count("client", "input_audio_buffer.append") >= appended + 3 + 3 }, rig.stderr)
            XCTAssertEqual(rig.control("release"), "ok")
        }
        /// Waits until the turn is answered and played and omnid is back in `ready`.
        func answered(_ n: Int, _ what: String) {
            XCTAssertTrue(eventually(pollMicros: 10_000) {
                guard let s = rig.status() else { return false }
                return s.counters.answered == n && s.state == .ready
            }, "\(what): \(rig.status().map(\.counters).debugDescription)\n\(rig.stderr.suffix(3000))")
        }

        // 1. Before `response.created`: the create is on the server, its response not yet announced.
        ask()
        XCTAssertTrue(eventually { log().count("client", "response.create") == 1 })
        XCTAssertEqual(log().count("server", "response.created"), 0, "the 2 s window was missed; the test proves nothing")
        ask()
        answered(1, "barge-in before response.created")
        XCTAssertEqual(log().count("client", "response.cancel"), 1, "the old response, cancelled once it existed")

        // 2. During the answer: it streams (2 s at twice real time) and plays.
        ask()
        let created = log().count("server", "response.created")
        XCTAssertTrue(eventually { log().count("server", "response.created") > created && state() == .speaking })
        let done = log().count("server", "response.done")
        ask()
        XCTAssertEqual(log().count("server", "response.done"), done, "the answer had already ended; the test proves nothing")
        answered(2, "barge-in during the answer")
        XCTAssertEqual(log().count("client", "response.cancel"), 2)

        // 3. After `response.done`, its audio still playing: only the playback stops.
        ask()
        let doneBefore = log().count("server", "response.done")
        XCTAssertTrue(eventually(pollMicros: 5_000) { log().count("server", "response.done") > doneBefore })
        XCTAssertEqual(state(), .speaking, "the answer had stopped playing; the test proves nothing")
        ask()
        answered(3, "barge-in after response.done")
        XCTAssertEqual(log().count("client", "response.cancel"), 2, "nothing to cancel after response.done")

        let s = try XCTUnwrap(rig.status())
        print("barge-in at three instants: \(s.counters.turns) turns, answered \(s.counters.answered), cancelled \(s.counters.cancelled), barge-ins \(s.counters.bargeIns), failed \(s.counters.failed); response.create \(log().count("client", "response.create")), response.created \(log().count("server", "response.created")), response.cancel \(log().count("client", "response.cancel"))")
        XCTAssertEqual(s.counters.turns, 6)
        XCTAssertEqual(s.counters.bargeIns, 3)
        XCTAssertEqual(s.counters.cancelled, 3)
        XCTAssertEqual(s.counters.failed, 0)
        XCTAssertEqual(log().count("client", "response.create"), 6, "one create per turn")
        XCTAssertEqual(log().count("server", "response.created"), 6)
        XCTAssertEqual(log().errors().compactMap { $0["message"] as? String }, [], "no error from the service at all")
        XCTAssertFalse(rig.stderr.split(separator: "\n").contains { $0.hasPrefix("<3>") || $0.hasPrefix("<4>") },
                       rig.stderr.suffix(3000).description)
    }
}
