import Foundation
import OmniCore
import XCTest

/// The real omnid against the real omni-sim with the service's rules on short timers: routine
/// closes (the sim's own, or omnid's renewal ahead of them) never show, and the output format
/// spelling falls back once when the service refuses it.
final class OmnidLifecycleTests: XCTestCase {
    /// Log lines of priority warning or worse. omnid's stderr is a pipe here, so each line starts
    /// with journald's `<N>` priority (JournalLogHandler), not a level word.
    private func warnings(_ rig: OmnidRig) -> [Substring] {
        rig.stderr.split(separator: "\n").filter { l in ["<0>", "<1>", "<2>", "<3>", "<4>"].contains { l.hasPrefix($0) } }
    }

    /// omnid either knows the service's idle close (and renews ahead of it) or does not (and the
    /// sim closes the session): both ways there is no warning, no offline LED, and a press is answered.
    func testIdleClosesAreInvisibleWhetherRenewedOrMadeByTheService() throws {
        for omnidKnows in [true, false] {
            let rig = try OmnidRig("idle")
            let simLog = "\(rig.dir)/sim.jsonl"
            let sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "300", "--idle-timeout-s", "2",
                                                 "--log", simLog, "--log-audio", "false"])
            try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: OmnidRig.tone(seconds: 60))
            try rig.writeConfig(url: sim.url, microphone: "\(rig.dir)/mic.wav",
                                service: ["idle_close_s = \(omnidKnows ? 2 : 300)"])
            try rig.start()
            XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: ready") }, rig.stderr)
            // Three sessions replaced, whoever closed them.
            XCTAssertTrue(rig.waitFor { $0.lines(containing: "session ready (").count >= 4 }, rig.stderr)
            XCTAssertEqual(rig.control("press"), "ok")
            XCTAssertTrue(eventually(pollMicros: 10_000) { SimLog(simLog).count("client", "input_audio_buffer.append") >= 5 })
            XCTAssertEqual(rig.control("release"), "ok")
            XCTAssertTrue(eventually { rig.status()?.counters.answered == 1 }, rig.stderr)
            let s = try XCTUnwrap(rig.status())
            XCTAssertEqual(s.session.outages, 0, rig.stderr)
            if omnidKnows {
                XCTAssertGreaterThanOrEqual(s.session.renewals, 3)
            } else {
                XCTAssertGreaterThanOrEqual(s.session.routineCloses, 3)
            }
            XCTAssertFalse(rig.leds.contains("offline"), "\(rig.leds)")
            XCTAssertEqual(rig.leds.filter { $0 == "connecting" }.count, 1, "only at boot: \(rig.leds)")
            XCTAssertEqual(warnings(rig), [], "\(omnidKnows)")
        }
    }

    /// The guide's "pcm24" goes out first; refused, "pcm16" goes out once and for the rest of the
    /// process; refused "pcm16" changes nothing. (omni-sim refuses either spelling on request.)
    func testOutputFormatFallsBackOnceWhenTheServiceRefusesEitherSpelling() throws {
        for refused in ["pcm24", "pcm16"] {
            let rig = try OmnidRig("format")
            let simLog = "\(rig.dir)/sim.jsonl"
            let sim = try SimProcess(arguments: ["--reject-output-format", refused, "--idle-timeout-s", "1",
                                                 "--log", simLog, "--log-audio", "false"])
            try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: [Int16](repeating: 0, count: 1600))
            try rig.writeConfig(url: sim.url, microphone: "\(rig.dir)/mic.wav", service: ["idle_close_s = 300"])
            try rig.start()
            // Two sessions: the sim's idle close replaces the first.
            XCTAssertTrue(rig.waitFor { $0.lines(containing: "session ready (").count >= 2 }, rig.stderr)
            let updates = SimLog(simLog).sessionUpdates.map { "\($0.conn):\($0.session["output_audio_format"] as? String ?? "-")" }
            let fallbacks = rig.lines(containing: "refused output_audio_format")
            if refused == "pcm24" {
                XCTAssertEqual(Array(updates.prefix(3)).map { $0.split(separator: ":")[1] }, ["pcm24", "pcm16", "pcm16"], "\(updates)")
                XCTAssertEqual(fallbacks.count, 1, rig.stderr)
            } else {
                XCTAssertTrue(updates.allSatisfy { $0.hasSuffix(":pcm24") }, "\(updates)")
                XCTAssertEqual(fallbacks.count, 0, rig.stderr)
            }
            XCTAssertEqual(rig.status()?.session.outages, 0)
            XCTAssertEqual(warnings(rig), [])
        }
    }

    /// A server that sends answer audio at 50 times real time, without end: the answer is cut
    /// once it runs far ahead of the speaker, counted, and memory stays where it was after the
    /// first flood (nothing accumulates from one to the next).
    func testAFloodOfAnswerAudioIsCutAndMemoryStaysFlat() throws {
        let rig = try OmnidRig("flood")
        let sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "400000", "--speed", "50", "--first-delta-ms", "0"])
        try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: OmnidRig.tone(seconds: 60))
        try rig.writeConfig(url: sim.url, microphone: "\(rig.dir)/mic.wav")
        try rig.start()
        XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: ready") }, rig.stderr)
        // A status request is work for the controller that is busy with the flood: ask 20 times a
        // second, not every 2 ms (which starved it on a loaded machine).
        func settles(_ condition: () -> Bool) -> Bool { eventually(pollMicros: 50_000, condition) }
        var rss: [Int] = []
        for n in 1...5 {
            XCTAssertEqual(rig.control("press"), "ok")
            usleep(600_000)
            XCTAssertEqual(rig.control("release"), "ok")
            XCTAssertTrue(settles { rig.status()?.counters.answersCut == n }, rig.stderr)
            rss.append(rig.resources()?.rssKB ?? 0)
            // A press too short to be a turn stops the answer: the queued audio is dropped.
            XCTAssertEqual(rig.control("press"), "ok")
            XCTAssertEqual(rig.control("release"), "ok")
            XCTAssertTrue(settles { rig.status()?.state == .ready }, rig.stderr.suffix(3000).description)
            usleep(500_000)
        }
        print("flood: RSS after each flood \(rss) KiB; \(rig.lines(containing: "far faster than it plays").count) answers cut")
        XCTAssertEqual(rig.status()?.counters.answersCut, 5)
        // Under AddressSanitizer freed memory sits in its quarantine: RSS says nothing there.
        if !Sanitizers.address { XCTAssertLessThan(rss[4] - rss[1], 3 * 1024, "no growth from flood to flood") }
    }

    /// A rejected key waits the long retry; a reload with the right key connects at once, not
    /// at the end of that wait (the order of the log lines says so, no clock needed).
    func testANewKeyConnectsAtOnceFromTheBadKeyWait() throws {
        let rig = try OmnidRig("key")
        let sim = try SimProcess(arguments: ["--api-key", "sk-right-key-123"])
        try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: [Int16](repeating: 0, count: 1600))
        let keyFile = "\(rig.dir)/api-key"
        func setKey(_ k: String) throws {
            try k.write(toFile: keyFile, atomically: true, encoding: .utf8)
            chmod(keyFile, 0o600)
        }
        try setKey("sk-wrong-key-456")
        try rig.writeConfig(url: sim.url, microphone: "\(rig.dir)/mic.wav", service: ["api_key_file = \"\(keyFile)\""])
        try rig.start(apiKeyFromEnvironment: false)
        XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: error") }, rig.stderr)
        XCTAssertEqual(rig.status()?.connection, "authFailed")
        try setKey("sk-right-key-123")
        rig.reload()
        XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: ready") }, rig.stderr)
        let log = rig.stderr
        // The reload ends the 30 s wait at once: its "connecting now" comes right after the
        // rejection, and no scheduled retry came first.
        XCTAssertTrue(log.contains("connecting now instead of waiting", after: "LED state: error"), log)
        XCTAssertTrue(log.contains("LED state: ready", after: "connecting now instead of waiting"), log)
        XCTAssertEqual(rig.lines(containing: "rejected the API key").count, 1, log)
        XCTAssertFalse(log.contains("sk-right-key-123") || log.contains("sk-wrong-key-456"), "the key never appears in the log")
    }
}
