import Foundation
import OmniCore
import XCTest

// The virtual board hearing itself: omnid with `file:` audio and an `[audio] room`, against
// omni-sim answering with the user's own audio (`--answer echo`), so every answer comes back
// into the microphone through the simulated room. Used by OmnidEchoTests (and, with 100
// answers, by bench/aec/handsfree.sh).

enum TestSpeech {
    /// Speech-shaped, seeded: a buzz with a wandering pitch (harmonics falling 1/k) plus noise,
    /// in 4 Hz syllables; about −21 dBFS RMS at the default level. Broadband, so the echo path
    /// can be measured on it (a pure tone cannot be aligned).
    static func phrase(seconds: Double, seed: UInt64, amplitude: Double = 6000, rate: Int = 16_000) -> [Int16] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func noise() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        }
        let n = Int(seconds * Double(rate))
        var phase = 0.0
        let offset = Double(seed % 97) / 97 * 2 * Double.pi
        return (0..<n).map { i in
            let t = Double(i) / Double(rate)
            let f0 = 140 + 40 * sin(2 * Double.pi * 0.7 * t + offset)
            phase += 2 * Double.pi * f0 / Double(rate)
            var v = 0.0
            for k in 1...12 { v += sin(Double(k) * phase) / Double(k) }
            let syllable = 0.35 + 0.65 * (0.5 - 0.5 * cos(2 * Double.pi * 4 * t + offset))
            let edge = min(1, t / 0.02, (seconds - t) / 0.02)
            return Int16(max(-32767, min(32767, amplitude * syllable * edge * (0.5 * v + 0.35 * noise()))))
        }
    }

    /// Seeded white noise (every stretch is unique: a position in it can be found exactly).
    static func noise(seconds: Double, seed: UInt64, amplitude: Double = 2000, rate: Int = 16_000) -> [Int16] {
        var state = seed | 1
        return (0..<Int(seconds * Double(rate))).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int16(Double(Int64(bitPattern: state) % 10_000) / 10_000 * amplitude)
        }
    }
}

/// One omnid + omni-sim pair on the virtual board with a room.
final class EchoRig {
    let sim: SimProcess
    let rig: OmnidRig
    let simLogPath: String
    static let room = "delay_ms=60,gain_db=-6,rt60_ms=250,noise_db=-70,seed=3"
    /// The quiet a user leaves while a new echo path's ready sound plays (vad mode with
    /// cancellation: ReadySoundCue), and its reverberation dies away (RT60 ≤ 400 ms), s.
    static let readyLeadSeconds = ReadySound.durationMs / 1000 + 0.7

    init(_ name: String, simArguments: [String] = [], logAudio: Bool = false) throws {
        rig = try OmnidRig(name)
        simLogPath = "\(rig.dir)/sim.jsonl"
        sim = try SimProcess(arguments: ["--answer", "echo", "--log", simLogPath, "--log-audio", logAudio ? "true" : "false"] + simArguments)
    }

    deinit { sim.child.terminateAndWait() }

    var dir: String { rig.dir }

    func writeConfig(mode: String, microphone: String, echoCancel: String, earcons: Bool, room: String? = EchoRig.room,
                     extra: [String] = []) throws {
        try """
            [service]
            url = "\(sim.url)"
            [session]
            mode = "\(mode)"
            vad_silence_ms = 500
            [board]
            name = "virtual"
            [audio]
            capture = "file:\(rig.dir)/\(microphone)"
            playback = "file:\(rig.dir)/speaker.wav"
            earcons = \(earcons)
            echo_cancel = "\(echoCancel)"
            \(room.map { "room = \"\($0)\"" } ?? "")
            \(extra.joined(separator: "\n"))
            [control]
            socket = "\(rig.socketPath)"
            """.write(toFile: rig.configPath, atomically: true, encoding: .utf8)
    }

    func start(halfDuplex: Bool = true, logLevel: String = "info") throws {
        try rig.start(logLevel: logLevel, environment: halfDuplex ? [:] : ["OMNID_TEST_NO_HALF_DUPLEX": "1"])
    }

    var log: SimLog { SimLog(simLogPath) }

    /// Microphone samples omnid has sent so far (the log's append byte counts / 2).
    func samplesSent(_ log: SimLog? = nil) -> Int {
        (log ?? self.log).lines.filter { $0.dir == "client" && $0.type == "input_audio_buffer.append" }
            .reduce(0) { total, l in
                // With --log-audio the payload itself, else its byte count.
                let bytes = (l.event["audio"] as? Int) ?? (l.event["audio"] as? String).map { Data(base64Encoded: $0)?.count ?? 0 } ?? 0
                return total + bytes / 2
            }
    }

    /// `response.done` statuses in order.
    func responseStatuses(_ log: SimLog) -> [String] {
        log.lines.filter { $0.dir == "server" && $0.type == "response.done" }
            .compactMap { ($0.event["response"] as? [String: Any])?["status"] as? String }
    }
}

/// What a hands-free run through the room produced.
struct HandsFreeResult: CustomStringConvertible {
    var utterances: Int
    var speechStarted: Int
    var completed: Int
    var cancelled: Int
    var echo: EchoStatus?
    var description: String {
        "\(utterances) utterances: \(speechStarted) speech_started, \(completed) answers completed, \(cancelled) cancelled; \(echo?.text ?? "echo: -")"
    }
}

extension EchoRig {
    /// `utterances` phrases, each answered (echoed) by omni-sim and played into the room while
    /// nobody speaks, in `vad` mode. omnid starts on a silent microphone; once it streams, a
    /// reload points the microphone at the phrases (reopening the devices plays them from
    /// their start). Done when omnid has sent all of the file's audio (the log's own count).
    static func handsFree(_ name: String, utterances: Int, echoCancel: String, halfDuplex: Bool = true,
                          file: StaticString = #filePath, line: UInt = #line) throws -> HandsFreeResult {
        let e = try EchoRig(name)
        // The reload below is a new echo path: with cancellation its ready sound plays first.
        var mic = [Int16](repeating: 0, count: echoCancel == "off" ? 0 : Int(readyLeadSeconds * 16_000))
        for k in 0..<utterances {
            mic += TestSpeech.phrase(seconds: 0.8, seed: UInt64(k + 1))
            // Room for: the VAD's 500 ms of silence, the answer (0.8 s) and its echo's tail.
            mic += [Int16](repeating: 0, count: 16_000 * 27 / 10)
        }
        mic += [Int16](repeating: 0, count: 16_000)
        try OmnidRig.writeWAV("\(e.dir)/mic.wav", samples: mic)
        try OmnidRig.writeWAV("\(e.dir)/quiet.wav", samples: [Int16](repeating: 0, count: 16_000))
        try e.writeConfig(mode: "vad", microphone: "quiet.wav", echoCancel: echoCancel, earcons: false)
        try e.start(halfDuplex: halfDuplex)
        XCTAssertTrue(e.rig.waitFor { $0.stderr.contains("LED state: ready") }, e.rig.stderr, file: file, line: line)
        // Streaming: count what has been sent before the phrases start (a lower bound, so the
        // end below is reached no earlier than the file's last second of silence).
        XCTAssertTrue(eventually { e.samplesSent() > 0 }, "omnid never streamed", file: file, line: line)
        let before = e.samplesSent()
        try e.writeConfig(mode: "vad", microphone: "mic.wav", echoCancel: echoCancel, earcons: false)
        e.rig.reload()
        XCTAssertTrue(e.rig.waitFor { $0.stderr.contains("audio settings changed: reopening the devices") }, e.rig.stderr,
                      file: file, line: line)
        let guardSeconds = Double(mic.count) / 16_000 * 3 + TestGuard.seconds
        XCTAssertTrue(eventually(timeout: guardSeconds, pollMicros: 50_000) { e.samplesSent() >= before + mic.count },
                      "omnid did not send the whole microphone file: \(e.rig.stderr.suffix(3000))", file: file, line: line)
        let log = e.log
        let statuses = e.responseStatuses(log)
        return HandsFreeResult(utterances: utterances, speechStarted: log.count("server", "input_audio_buffer.speech_started"),
                               completed: statuses.filter { $0 == "completed" }.count,
                               cancelled: statuses.filter { $0 == "cancelled" }.count, echo: e.rig.status()?.echo)
    }
}
