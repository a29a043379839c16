import Foundation
import XCTest

/// The real omnid and omni-sim binaries, with ALSA devices backed by files (alsa-lib's `file`
/// plugin over `null`, paced by omnid's clock): `omnid ctl press`, audio flows, `omnid ctl
/// release` → the echoed answer is in the playback file, and the LED states appear in order.
///
/// Nothing here depends on how fast omnid starts or answers. The microphone is one long tone,
/// so whatever stretch of it the button holds is "speech"; the button is released once omni-sim
/// has received a second of it (its log says so), and the playback file is checked against
/// what omni-sim received and sent, not against a wall-clock timeline. (exec → ready and the
/// turn latencies are bench/run.sh's figures.)
final class OmnidEndToEndTests: XCTestCase {
    /// One `--log` line of omni-sim (with `--log-audio false`, audio payloads are byte counts).
    struct SimLine {
        var dir: String
        var type: String
        var event: [String: Any]
    }

    func simLog(_ path: String) -> [SimLine] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let dir = o["dir"] as? String, let e = o["event"] as? [String: Any],
                  let type = e["type"] as? String else { return nil }
            return SimLine(dir: dir, type: type, event: e)
        }
    }

    /// Bytes of audio omni-sim received in `input_audio_buffer.append` events.
    func appendedBytes(_ log: [SimLine]) -> Int {
        log.filter { $0.dir == "client" && $0.type == "input_audio_buffer.append" }.reduce(0) { $0 + ($1.event["audio"] as? Int ?? 0) }
    }

    /// Bytes of answer audio omni-sim sent in `response.audio.delta` events.
    func answerBytes(_ log: [SimLine]) -> Int {
        log.filter { $0.dir == "server" && $0.type == "response.audio.delta" }.reduce(0) { $0 + ($1.event["delta"] as? Int ?? 0) }
    }

    func testPushToTalkTurnThroughALSAFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let simLogPath = "\(dir)/sim.jsonl"
        let sim = try SimProcess(arguments: ["--answer", "echo", "--speed", "4", "--log", simLogPath, "--log-audio", "false"])

        // Capture input: 16 kHz mono raw, a 300 Hz tone for two minutes (the "speech"; the
        // file plugin reads on as the clock goes, so any stretch of it is tone).
        let rate = 16_000
        let input = (0..<(rate * 120)).map { Int16(9000 * sin(2 * Double.pi * 300 * Double($0) / Double(rate))) }
        try input.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: "\(dir)/capture-in.raw"))
        let alsaConf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 1, playbackChannels: 1)

        let conf = "\(dir)/omni.conf"
        try """
            [service]
            url = "\(sim.url)"
            [board]
            name = "virtual"
            [audio]
            capture = "\(AudioTestSupport.capturePCM)"
            playback = "\(AudioTestSupport.playbackPCM)"
            capture_rate = 16000
            playback_rate = 24000
            earcons = false
            [control]
            socket = "\(dir)/ctl.sock"
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-e2e"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        env["OMNID_ALSA_CONFIG"] = alsaConf
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.terminateAndWait() }
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("LED state: ready") }, omnid.stderr)

        func ctl(_ verb: String) throws -> String {
            let c = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", "\(dir)/ctl.sock", verb])
            guard c.waitForExit() else {
                c.killAndWait()
                XCTFail("omnid ctl \(verb) did not finish")
                return ""
            }
            XCTAssertEqual(c.process.terminationStatus, 0, c.stderr)
            return c.stdout
        }
        XCTAssertEqual(try ctl("press").trimmingCharacters(in: .whitespacesAndNewlines), "ok")
        // Hold the button until omni-sim has received a second of the tone, then release.
        XCTAssertTrue(eventually(pollMicros: 20_000) { self.appendedBytes(self.simLog(simLogPath)) >= 2 * rate }, omnid.stderr)
        XCTAssertEqual(try ctl("release").trimmingCharacters(in: .whitespacesAndNewlines), "ok")

        // The answer played out and the machine is back at rest.
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("LED state: ready", after: "LED state: speaking") }, omnid.stderr)
        let status = try ctl("status")
        XCTAssertTrue(status.contains("answered 1"), status)
        XCTAssertTrue(status.hasPrefix("state:       ready"), status)

        omnid.terminateAndWait()
        // omni-sim echoed exactly what it received, resampled to 24 kHz.
        let log = simLog(simLogPath)
        let sent = appendedBytes(log) / 2
        let answer = answerBytes(log) / 2
        XCTAssertEqual(log.filter { $0.dir == "client" && $0.type == "input_audio_buffer.commit" }.count, 1)
        XCTAssertGreaterThanOrEqual(sent, rate, "at least the second the button was held for")
        XCTAssertEqual(Double(answer), Double(sent) * 1.5, accuracy: 24, "the echo is the committed audio at 24 kHz")

        // The playback file (raw s16le mono, 24 kHz) holds that answer: whole (as long as what
        // was sent), once (no longer), without holes (the tone stays loud throughout).
        let out = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/playback-out.raw"))
        let samples = out.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let first = try XCTUnwrap(samples.firstIndex { abs(Int($0)) > 2000 }, "silent playback file")
        let last = try XCTUnwrap(samples.lastIndex { abs(Int($0)) > 2000 })
        let span = last - first + 1
        let loud = samples[first...last].filter { abs(Int($0)) > 2000 }.count
        print("e2e: \(sent) samples sent, \(answer) echoed, \(span) played (\(loud) above the threshold)")
        XCTAssertEqual(span, answer, accuracy: 480, "played as long as omni-sim's answer (±20 ms)")
        // A 9000-peak sine is above 2000 for ~86% of its samples; a gap would pull this down.
        XCTAssertGreaterThan(Double(loud), 0.8 * Double(span), "no holes in the answer")

        // LED states in order, from the virtual board's log lines.
        let leds = omnid.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "LED state: ") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != " " })
        }
        let turn = Array(leds.drop { $0 != "ready" }.prefix(5))
        XCTAssertEqual(turn, ["ready", "listening", "thinking", "speaking", "ready"], "LED states: \(leds)")
        XCTAssertEqual(leds.first, "connecting")
    }
}
