import Foundation
import XCTest

/// Hands-free mode end to end: omnid streams the microphone continuously, omni-sim's server VAD
/// finds the end of speech and answers by itself, and the answer reaches the speaker file.
final class OmnidVADTests: XCTestCase {
    /// The speech goes to a session that already streams (HandsFreeReload).
    func testServerVADTurnIsAnsweredWithoutTheButton() throws {
        let sim = try SimProcess(arguments: ["--answer", "echo"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-vad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1 s silence, 1.5 s of "speech" (a 300 Hz tone, as in the traces), then silence.
        let handsFree = try HandsFreeReload(dir: dir, url: sim.url, speechSeconds: 1.5, totalSeconds: 5)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-vad"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", handsFree.configPath], environment: env)
        defer { omnid.terminateAndWait() }
        // Ready in VAD mode = the microphone is being streamed.
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("LED state: ready") }, omnid.stderr)
        try handsFree.switchToSpeech(omnid)
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("audio settings changed: reopening the devices") }, omnid.stderr)
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("assistant: ") && $0.stderr.contains("LED state: ready", after: "LED state: speaking") },
                      omnid.stderr)
        let leds = omnid.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "LED state: ") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != " " })
        }
        XCTAssertEqual(Array(leds.prefix(6)), ["connecting", "ready", "listening", "thinking", "speaking", "ready"])
        omnid.terminateAndWait()
        // The speaker file (24 kHz) holds the echoed speech: about 1.5 s above the threshold.
        let wav = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/speaker.wav"))
        // After the ready sound that the reload's new echo path played first.
        let samples = wav.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
            .dropFirst(Int(EchoRig.readyLeadSeconds * 24_000))
        let loud = Double(samples.filter { abs(Int($0)) > 2000 }.count) / 24_000
        XCTAssertGreaterThan(loud, 1.1, "echoed speech expected in the speaker file")
        XCTAssertLessThan(loud, 1.7)
    }
}

extension String {
    /// True when `text` occurs somewhere after the first occurrence of `marker`.
    func contains(_ text: String, after marker: String) -> Bool {
        guard let r = range(of: marker) else { return false }
        return self[r.upperBound...].contains(text)
    }
}
