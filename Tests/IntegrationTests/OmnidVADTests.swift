import Foundation
import XCTest

/// Hands-free mode end to end: omnid streams the microphone continuously, omni-sim's server VAD
/// finds the end of speech and answers by itself, and the answer reaches the speaker file.
final class OmnidVADTests: XCTestCase {
    /// A 16-bit mono PCM WAV file.
    func writeWAV(_ path: String, samples: [Int16], rate: Int) throws {
        var d = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + samples.count * 2)
        d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(rate); u32(rate * 2); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(samples.count * 2)
        samples.withUnsafeBytes { d.append(contentsOf: $0) }
        try d.write(to: URL(fileURLWithPath: path))
    }

    /// The speech must reach a session that is already streaming, however long omnid takes to
    /// get there: omnid starts on a silent microphone file, and once it is ready (streaming, in
    /// VAD mode) a reload points [audio] capture at the speech file, which reopens the devices
    /// and so plays the speech from its start.
    func testServerVADTurnIsAnsweredWithoutTheButton() throws {
        let sim = try SimProcess(arguments: ["--answer", "echo"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-vad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1 s silence, 1.5 s of "speech" (a 300 Hz tone, as in the traces), then silence.
        var mic = [Int16](repeating: 0, count: 16_000 * 5)
        for i in 16_000..<40_000 { mic[i] = Int16(9000 * sin(2 * Double.pi * 300 * Double(i) / 16_000)) }
        try writeWAV("\(dir)/mic.wav", samples: mic, rate: 16_000)
        try writeWAV("\(dir)/quiet.wav", samples: [Int16](repeating: 0, count: 16_000), rate: 16_000)
        let conf = "\(dir)/omni.conf"
        func writeConfig(microphone: String) throws {
            try """
                [service]
                url = "\(sim.url)"
                [session]
                mode = "vad"
                vad_silence_ms = 500
                [board]
                name = "virtual"
                [audio]
                capture = "file:\(dir)/\(microphone)"
                playback = "file:\(dir)/speaker.wav"
                earcons = false
                [control]
                socket = "\(dir)/ctl.sock"
                """.write(toFile: conf, atomically: true, encoding: .utf8)
        }
        try writeConfig(microphone: "quiet.wav")
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-vad"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.terminateAndWait() }
        // Ready in VAD mode = the microphone is being streamed.
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("LED state: ready") }, omnid.stderr)
        try writeConfig(microphone: "mic.wav")
        XCTAssertTrue(omnid.waitFor { $0.catches(SIGHUP) }, "omnid never set up its SIGHUP handling")
        omnid.signal(SIGHUP)
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
        let samples = wav.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
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
