import Foundation
import XCTest

/// The real omnid and omni-sim binaries, with ALSA devices backed by files (alsa-lib's `file`
/// plugin over `null`, paced by omnid's clock): `omnid ctl press`, audio flows, `omnid ctl
/// release` → the echoed answer is in the playback file, and the LED states appear in order.
final class OmnidEndToEndTests: XCTestCase {
    func testPushToTalkTurnThroughALSAFiles() throws {
        let sim = try SimProcess(arguments: ["--answer", "echo", "--speed", "4"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // Capture input: 16 kHz mono raw; 1 s silence, 2 s of a 300 Hz tone, then silence.
        let rate = 16_000
        var input = [Int16](repeating: 0, count: rate * 8)
        for i in rate..<(3 * rate) { input[i] = Int16(9000 * sin(2 * Double.pi * 300 * Double(i) / Double(rate))) }
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
        let started = Date()
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.terminateAndWait() }
        XCTAssertTrue(omnid.waitFor(10) { $0.stderr.contains("session ready") }, omnid.stderr)

        func ctl(_ verb: String) throws -> String {
            let c = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", "\(dir)/ctl.sock", verb])
            c.process.waitUntilExit()
            _ = c.waitFor(0.1) { _ in false }
            XCTAssertEqual(c.process.terminationStatus, 0, c.stderr)
            return c.stdout
        }
        // Press before the tone starts (1 s into the capture file), release after it ends (3 s).
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.9, "omnid took too long to get ready for this timeline")
        while Date().timeIntervalSince(started) < 0.9 { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(try ctl("press").trimmingCharacters(in: .whitespacesAndNewlines), "ok")
        while Date().timeIntervalSince(started) < 3.4 { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(try ctl("release").trimmingCharacters(in: .whitespacesAndNewlines), "ok")

        var status = ""
        let deadline = Date().addingTimeInterval(15)
        repeat {
            Thread.sleep(forTimeInterval: 0.1)
            status = try ctl("status")
        } while !(status.contains("answered 1") && status.hasPrefix("state:       ready")) && Date() < deadline
        XCTAssertTrue(status.contains("answered 1"), status)

        omnid.terminateAndWait()
        // The playback file: raw s16le mono at 24 kHz. The echo is the ~2.5 s committed
        // recording resampled to 24 kHz; its tone part must be there, whole.
        let out = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/playback-out.raw"))
        let samples = out.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let loud = samples.filter { abs(Int($0)) > 2000 }.count
        // A 9000-peak sine is above 2000 for ~86% of its samples: 2 s of tone gives ~1.7 s.
        let toneSeconds = Double(loud) / 24_000
        print("e2e: playback file \(samples.count) samples, tone ≈ \(String(format: "%.2f", Double(loud) / 24_000)) s above threshold")
        XCTAssertGreaterThan(Double(loud) / 24_000, 1.6, "the 2 s tone should come back (got \(toneSeconds))")
        XCTAssertLessThan(Double(loud) / 24_000, 2.1, "no duplicated audio")

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
