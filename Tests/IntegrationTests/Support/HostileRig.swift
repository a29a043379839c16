import Foundation
import XCTest

/// The real omnid (virtual board, null audio devices paced by the clock, control socket) against
/// the real omni-sim with one fault, for OmnidHostileServerTests. Every wait is for an event
/// (a log line, a status, a line in the simulator's event log); the timeouts are hang guards.
final class HostileRig {
    let sim: SimProcess
    let omnid: ChildProcess
    let dir: String
    /// Warnings that repeat are written at most once per this interval (omni.conf [log]).
    static let repeatIntervalMs = 1000

    /// `fault`: omni-sim's --fault query. `conf`: extra [service] lines for omni.conf.
    init(fault: String, simArguments: [String] = [], service: String = "") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-hostile-srv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A short burst answer (300 ms tone) keeps each turn quick; the event log shows the appends.
        sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "300", "--speed", "0", "--first-delta-ms", "0",
                                         "--log", "\(dir)/sim.jsonl", "--log-audio", "false", "--fault", fault]
                                        + simArguments)
        let conf = "\(dir)/omni.conf"
        try """
            [service]
            url = "\(sim.url)"
            ping_interval_ms = 1000
            \(service)
            [board]
            name = "virtual"
            [audio]
            capture = "null"
            playback = "null"
            earcons = false
            [control]
            socket = "\(dir)/ctl.sock"
            [log]
            repeat_interval_ms = \(Self.repeatIntervalMs)
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-hostile-server"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        env["OMNID_AUDIO_PACING"] = "clock"
        env["OMNID_LOG_LEVEL"] = "info"
        omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
    }

    func stop() {
        omnid.terminateAndWait()
        sim.child.terminateAndWait()
        try? FileManager.default.removeItem(atPath: dir)
    }

    var log: String { omnid.stderr }

    /// Log lines (omnid's stderr) containing `fragment`.
    func lines(_ fragment: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(fragment) }
    }

    /// Waits until omnid's log satisfies `condition`.
    @discardableResult
    func waitForLog(_ timeout: TimeInterval = TestGuard.seconds, file: StaticString = #filePath, line: UInt = #line,
                    _ condition: (String) -> Bool) -> Bool {
        let ok = omnid.waitFor(timeout: timeout) { condition($0.stderr) }
        if !ok { XCTFail("omnid log condition not met; log:\n\(log.suffix(4000))", file: file, line: line) }
        return ok
    }

    /// The highest "(N so far" among the lines containing `fragment`: the running total the
    /// rate-limited warnings report.
    func reportedTotal(_ fragment: String) -> Int {
        lines(fragment).compactMap { l -> Int? in
            guard let r = l.range(of: " so far") else { return nil }
            let digits = l[..<r.lowerBound].reversed().prefix { $0.isNumber }
            return Int(String(digits.reversed()))
        }.max() ?? 0
    }

    /// omnid's peak resident set so far (VmHWM), KiB.
    func peakRSSKiB() -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(omnid.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.filter(\.isNumber)) ?? 0
    }

    /// `omnid ctl VERB`'s output (its last stderr is in `lastCtlError`).
    func ctl(_ verb: String, _ extra: [String] = []) throws -> String {
        let c = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", "\(dir)/ctl.sock", verb] + extra)
        c.process.waitUntilExit()
        // The pipe handlers may still be collecting: every answer is one or more whole lines.
        // (ChildProcess.waitFor stops waiting once the process has exited.)
        let end = Date().addingTimeInterval(5)
        while !(c.stdout.hasSuffix("\n") || c.stderr.hasSuffix("\n")) && Date() < end {
            Thread.sleep(forTimeInterval: 0.005)
        }
        lastCtlError = c.stderr
        return c.stdout
    }
    private(set) var lastCtlError = ""

    struct Status {
        var state: String
        var connection: String
        var turns: Int
        var answered: Int
        var failed: Int
        var cancelled: Int
        var invalidAudio = 0
    }

    /// nil while the control socket is not up yet.
    func status() throws -> Status? {
        guard let o = try? JSONSerialization.jsonObject(with: Data(try ctl("status", ["--json"]).utf8)) as? [String: Any],
              let c = o["counters"] as? [String: Any] else { return nil }
        return Status(state: o["state"] as? String ?? "", connection: o["connection"] as? String ?? "",
                      turns: c["turns"] as? Int ?? 0, answered: c["answered"] as? Int ?? 0,
                      failed: c["failed"] as? Int ?? 0, cancelled: c["cancelled"] as? Int ?? 0,
                      invalidAudio: c["invalid_audio"] as? Int ?? 0)
    }

    /// Polls the status until `condition` holds (hang guard `timeout`).
    func waitForStatus(_ timeout: TimeInterval = 20, _ condition: (Status) -> Bool) throws -> Status? {
        let end = Date().addingTimeInterval(timeout)
        var last: Status?
        repeat {
            last = try status()
            if let s = last, condition(s) { return s }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < end && omnid.process.isRunning
        return last
    }

    /// The client's `input_audio_buffer.append` events the simulator has logged so far. Read
    /// incrementally: after a flood the log holds a line per flood frame.
    func appendsLogged() -> Int {
        guard let h = FileHandle(forReadingAtPath: "\(dir)/sim.jsonl") else { return appends }
        defer { try? h.close() }
        try? h.seek(toOffset: logOffset)
        let data = (try? h.readToEnd()) ?? Data()
        // Only whole lines; a partly written last line is read again next time.
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return appends }
        let complete = data[..<lastNewline]
        logOffset += UInt64(complete.count + 1)
        appends += complete.split(separator: UInt8(ascii: "\n")).filter { line in
            line.count < 400 && String(decoding: line, as: UTF8.self).contains("\"type\":\"input_audio_buffer.append\"")
        }.count
        return appends
    }
    private var logOffset: UInt64 = 0
    private var appends = 0

    /// Waits for a ready link (the session ready and the appliance idle).
    func waitUntilReady(file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try waitForStatus { $0.connection == "ready" && $0.state == "ready" }
        XCTAssertEqual(s?.connection, "ready", "omnid never got ready; log:\n\(log.suffix(4000))", file: file, line: line)
    }

    /// One push-to-talk turn: press, wait until the simulator has received two audio appends
    /// (200 ms) after the three of look-back (the 300 ms before the press, `[audio]
    /// lookback_ms`, sent at once), release, wait until the turn is over. Returns the status
    /// after it.
    @discardableResult
    func turn(file: StaticString = #filePath, line: UInt = #line) throws -> Status? {
        let before = try status()
        let appends = appendsLogged()
        XCTAssertEqual(try ctl("press").trimmingCharacters(in: .whitespacesAndNewlines), "ok", file: file, line: line)
        let end = Date().addingTimeInterval(20)
        while appendsLogged() < appends + 3 + 2 && Date() < end { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(try ctl("release").trimmingCharacters(in: .whitespacesAndNewlines), "ok", file: file, line: line)
        let n = (before?.turns ?? 0) + 1
        let after = try waitForStatus { s in
            s.turns == n && s.answered + s.failed + s.cancelled == n && s.state == "ready"
        }
        XCTAssertEqual(after?.turns, n, "turn \(n) did not end; log:\n\(log.suffix(4000))", file: file, line: line)
        return after
    }

    /// omnid is alive, its control socket answers, and the next ordinary turn is answered.
    func assertNextTurnAnswered(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(omnid.process.isRunning, "omnid died; log:\n\(log.suffix(4000))", file: file, line: line)
        try waitUntilReady(file: file, line: line)
        let before = try status()
        let after = try turn(file: file, line: line)
        XCTAssertEqual(after?.answered, (before?.answered ?? 0) + 1, "the next turn was not answered; log:\n\(log.suffix(4000))",
                       file: file, line: line)
        XCTAssertTrue(omnid.process.isRunning, file: file, line: line)
    }
}
