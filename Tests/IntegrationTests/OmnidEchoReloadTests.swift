import Foundation
import OmniCore
import XCTest

/// What the echo canceller keeps across a reload (docs/echo-cancellation.md): a reload that
/// leaves the echo path alone (here: only the volume) reopens the devices but keeps the
/// canceller's filter — its start-up gate verifies it and opens again, and the far-end sound it
/// has learnt from counts on; a reload that changes a device starts a new canceller. Through
/// the real omnid, omni-sim and a simulated room; `omnid ctl status` tells which happened.
final class OmnidEchoReloadTests: XCTestCase {
    func testAReloadKeepsTheCancellerUnlessTheEchoPathChanges() throws {
        let e = try EchoRig("aec-reload")
        let phrases = 4
        // A new echo path plays its ready sound first: the user waits for it.
        var mic = [Int16](repeating: 0, count: Int(EchoRig.readyLeadSeconds * 16_000))
        for k in 0..<phrases {
            mic += TestSpeech.phrase(seconds: 1.5, seed: UInt64(k + 1))
            mic += [Int16](repeating: 0, count: 16_000 * 34 / 10)  // the VAD's 500 ms, the answer, its tail
        }
        try OmnidRig.writeWAV("\(e.dir)/mic.wav", samples: mic)
        try OmnidRig.writeWAV("\(e.dir)/other.wav", samples: mic)
        try OmnidRig.writeWAV("\(e.dir)/quiet.wav", samples: [Int16](repeating: 0, count: 16_000))
        try e.writeConfig(mode: "vad", microphone: "quiet.wav", echoCancel: "auto", earcons: false)
        try e.start()
        XCTAssertTrue(e.rig.waitFor { $0.stderr.contains("LED state: ready") }, e.rig.stderr)
        XCTAssertTrue(eventually { e.samplesSent() > 0 }, "omnid never streamed")

        /// Points omnid at `microphone` (and `extra` [audio] lines) by a reload; returns when the
        /// whole file has been sent (each phrase answered and played meanwhile).
        var reloads = 0
        func play(_ microphone: String, extra: [String] = []) throws -> EchoStatus? {
            let before = e.samplesSent()
            try e.writeConfig(mode: "vad", microphone: microphone, echoCancel: "auto", earcons: false, extra: extra)
            reloads += 1
            e.rig.reload()
            XCTAssertTrue(e.rig.waitFor { $0.lines(containing: "audio settings changed: reopening the devices").count >= reloads })
            let atStart = e.rig.status()?.echo
            XCTAssertTrue(eventually(timeout: Double(mic.count) / 16_000 * 3 + TestGuard.seconds, pollMicros: 50_000) {
                e.samplesSent() >= before + mic.count
            }, "omnid did not send the whole microphone file")
            return atStart
        }

        // A new room: the canceller learns it during the first answers and its gate opens.
        _ = try play("mic.wav")
        print("new room: \(e.rig.status()?.echo?.text ?? "-")")
        let first = try XCTUnwrap(e.rig.status()?.echo?.startup, "no start-up gate in the status")
        XCTAssertEqual(first.phase, "converged", "\(first)")
        let openedAt = try XCTUnwrap(first.openedAtMs)
        XCTAssertGreaterThan(first.learnedMs, openedAt)

        // Only the volume changes: the same canceller, verified and open again; what it learnt
        // counts on; no answer interrupted itself.
        let kept = try XCTUnwrap(try play("mic.wav", extra: ["volume = 0.9"]))
        XCTAssertEqual(e.rig.lines(containing: "echo path unchanged: the echo canceller keeps what it has learnt").count, 1)
        XCTAssertGreaterThanOrEqual(kept.filterKept, 1)
        XCTAssertGreaterThanOrEqual(kept.startup?.learnedMs ?? 0, first.learnedMs)
        let again = try XCTUnwrap(e.rig.status()?.echo)
        print("volume changed: \(again.text)")
        XCTAssertEqual(again.startup?.phase, "converged", "\(again.text)")
        XCTAssertEqual(again.startup?.openedAtMs, openedAt, "opened again without a reset")
        XCTAssertGreaterThan(again.startup?.learnedMs ?? 0, first.learnedMs + 3000)
        XCTAssertEqual(e.log.count("server", "input_audio_buffer.speech_started"), 2 * phrases)

        // Another microphone: a new echo path, a new canceller that has learnt nothing yet.
        let fresh = try XCTUnwrap(try play("other.wav"))
        XCTAssertEqual(fresh.filterKept, 0)
        // (Its ready sound may have begun by the time the status is read.)
        XCTAssertLessThan(fresh.startup?.learnedMs ?? .max, Int(ReadySound.durationMs), "nothing learnt beyond its own ready sound")
        XCTAssertEqual(fresh.startup?.phase, "converging")
        XCTAssertEqual(e.rig.status()?.echo?.startup?.phase, "converged")
        XCTAssertEqual(e.log.count("server", "input_audio_buffer.speech_started"), 3 * phrases)
    }
}
