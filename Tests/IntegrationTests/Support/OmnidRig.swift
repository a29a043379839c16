import Foundation
import OmniCore
import XCTest

// One real omnid on the virtual board (control-socket button, LEDs in the log, `file:` WAV
// audio) against a real omni-sim, for the lifecycle tests: config, start, the software button
// and the status over the control socket (no `omnid ctl` process per press), the LED states
// from the log, and the process's RSS, fds and threads.

final class OmnidRig {
    let dir: String
    let name: String
    private(set) var omnid: ChildProcess?

    init(_ name: String) throws {
        self.name = name
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit {
        omnid?.terminateAndWait()
        try? FileManager.default.removeItem(atPath: dir)
    }

    var configPath: String { "\(dir)/omni.conf" }
    var socketPath: String { "\(dir)/ctl.sock" }

    /// omni.conf for `url`; `extra` adds keys per section ("service", "session", …).
    func writeConfig(url: String, mode: String = "push-to-talk", microphone: String, voice: String = "Cherry",
                     instructions: String = "Answer briefly.", service: [String] = [], session: [String] = []) throws {
        try """
            [service]
            url = "\(url)"
            \(service.joined(separator: "\n"))
            [session]
            mode = "\(mode)"
            voice = "\(voice)"
            instructions = "\(instructions)"
            \(session.joined(separator: "\n"))
            [board]
            name = "virtual"
            [audio]
            capture = "file:\(microphone)"
            playback = "file:\(dir)/speaker.wav"
            earcons = true
            [control]
            socket = "\(socketPath)"
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// `apiKeyFromEnvironment: false`: the key comes from the config's `api_key_file`.
    func start(logLevel: String = "info", apiKeyFromEnvironment: Bool = true, environment: [String: String] = [:]) throws {
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        env["DASHSCOPE_API_KEY"] = apiKeyFromEnvironment ? "sk-\(name)" : nil
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        env["OMNID_LOG_LEVEL"] = logLevel
        omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", configPath], environment: env)
    }

    var stderr: String { omnid?.stderr ?? "" }
    var pid: Int32 { omnid?.process.processIdentifier ?? 0 }

    func waitFor(_ condition: (OmnidRig) -> Bool) -> Bool {
        omnid?.waitFor { _ in condition(self) } ?? false
    }

    /// One control request on its own connection; the reply line.
    @discardableResult
    func control(_ verb: String) -> String? {
        guard let c = try? ControlRawClient(socketPath) else { return nil }
        c.write(verb + "\n")
        return c.readLine()
    }

    func status() -> ApplianceStatus? {
        control("status").flatMap { ApplianceStatus(json: $0) }
    }

    /// LED states in the order the log shows them.
    var leds: [String] {
        stderr.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "LED state: ") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != " " })
        }
    }

    func lines(containing text: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(text) }
    }

    func reload() {
        _ = waitFor { _ in self.omnid?.catches(SIGHUP) ?? false }
        omnid?.signal(SIGHUP)
    }

    // MARK: Resources

    struct Resources: CustomStringConvertible {
        var rssKB: Int
        var threads: Int
        /// Threads omnid started itself (each is named: omni-audio, omnid-loop, …). The rest
        /// are the main thread and libdispatch's workers (named after their root queues, e.g.
        /// "-qos.overcommit"), whose number the pool varies.
        var namedThreads: Int
        var fds: Int
        var description: String { "RSS \(rssKB) KiB, \(threads) threads (\(namedThreads) named), \(fds) fds" }
    }

    func resources() -> Resources? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            guard let line = s.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        guard let rss = field("VmRSS"), let threads = field("Threads") else { return nil }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let named = tasks.filter { tid in
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8)) ?? ""
            let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            return name.hasPrefix("omni") && name != "omnid"
        }.count
        return Resources(rssKB: rss, threads: threads, namedThreads: named, fds: fds)
    }

    // MARK: Audio files

    /// A 16-bit mono PCM WAV file.
    static func writeWAV(_ path: String, samples: [Int16], rate: Int = 16_000) throws {
        var d = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + samples.count * 2)
        d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(rate); u32(rate * 2); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(samples.count * 2)
        samples.withUnsafeBytes { d.append(contentsOf: $0) }
        try d.write(to: URL(fileURLWithPath: path))
    }

    /// `seconds` of a 300 Hz tone (the traces' stand-in for speech) at 16 kHz.
    static func tone(seconds: Double, amplitude: Double = 9000) -> [Int16] {
        (0..<Int(seconds * 16_000)).map { Int16(amplitude * sin(2 * Double.pi * 300 * Double($0) / 16_000)) }
    }
}

/// omni-sim's `--log` lines (with `--log-audio false`, payloads are byte counts).
struct SimLog {
    struct Line {
        var conn: Int
        var dir: String
        var type: String
        var event: [String: Any]
    }

    let lines: [Line]

    init(_ path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        lines = text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let dir = o["dir"] as? String, let e = o["event"] as? [String: Any],
                  let type = e["type"] as? String else { return nil }
            return Line(conn: (o["conn"] as? Int) ?? -1, dir: dir, type: type, event: e)
        }
    }

    func count(_ dir: String, _ type: String) -> Int { lines.filter { $0.dir == dir && $0.type == type }.count }

    func errors() -> [[String: Any]] {
        lines.filter { $0.dir == "server" && $0.type == "error" }.compactMap { $0.event["error"] as? [String: Any] }
    }

    /// The session.update objects the client sent, in order.
    var sessionUpdates: [(conn: Int, session: [String: Any])] {
        lines.filter { $0.dir == "client" && $0.type == "session.update" }
            .compactMap { l in (l.event["session"] as? [String: Any]).map { (l.conn, $0) } }
    }
}
