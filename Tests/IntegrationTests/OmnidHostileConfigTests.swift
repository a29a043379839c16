import Foundation
import XCTest

/// Config inputs that used to crash or hang omnid (issue 16), through the real binary and the
/// real file reader: a FIFO where the config belongs, a 20,000-level table header on reload.
final class OmnidHostileConfigTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs omnid to completion, reading its output to EOF (no timing involved).
    func omnid(_ args: [String]) throws -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "test-key-not-real"
        return try Binaries.runToCompletion("omnid", args, environment: env)
    }

    /// It used to block forever in open()/read(); now it is refused at once, for both commands.
    func testFIFOAsConfigIsRefusedNotWaitedOn() throws {
        let fifo = "\(dir)/omni.conf"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for command in ["check-config", "run"] {
            let (status, out) = try omnid([command, "--config", fifo])
            XCTAssertEqual(status, 78, out)
            XCTAssertTrue(out.contains("\(fifo): cannot be used as the config file: is a FIFO, not a regular file"), out)
        }
    }

    func testDirectoryAsKeyFileIsRefusedWithItsKey() throws {
        let conf = "\(dir)/omni.conf"
        try "[board]\nname = \"virtual\"\n[service]\napi_key_file = \"\(dir)\"\n".write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = nil
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        let (status, out) = try Binaries.runToCompletion("omnid", ["check-config", "--config", conf], environment: env)
        XCTAssertEqual(status, 78, out)
        XCTAssertTrue(out.contains("\(conf):4: service.api_key_file: \(dir) cannot be read (is a directory, not a regular file)"), out)
    }

    /// `systemctl reload` with a 20,000-level header used to kill the running daemon silently.
    func testDeeplyNestedConfigOnReloadKeepsTheDaemonRunning() throws {
        let sim = try SimProcess(arguments: ["--log-audio", "false"])
        let conf = "\(dir)/omni.conf"
        let good = """
            [service]
            url = "\(sim.url)"
            [audio]
            capture = "null"
            playback = "null"
            [control]
            socket = "\(dir)/ctl.sock"

            """
        try good.write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-hostile"
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.terminateAndWait() }
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("session ready") }, omnid.stderr)

        let deep = "[" + Array(repeating: "a", count: 20_000).joined(separator: ".") + "]\nx = 1\n"
        try (good + deep).write(toFile: conf, atomically: true, encoding: .utf8)
        omnid.signal(SIGHUP)
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("reload failed, keeping the running configuration") }, omnid.stderr)
        XCTAssertTrue(omnid.stderr.contains("\(conf):8: not valid TOML: nested more than 16 levels deep"), omnid.stderr)
        XCTAssertTrue(omnid.process.isRunning, "the daemon must survive a hostile reload")

        // Still answering on its control socket.
        let status = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", "\(dir)/ctl.sock", "status"])
        status.process.waitUntilExit()
        XCTAssertTrue(status.waitFor { $0.stdout.contains("connection:  ready") }, status.stdout + status.stderr)
    }
}

/// `check-config` validates everything `run` validates (issue 16): a board's button/LED
/// sections and the API key are checked by both, with the same message and exit status.
final class CheckConfigRunParityTests: XCTestCase {
    func both(_ config: String, env extra: [String: String] = [:]) throws -> [(status: Int32, output: String)] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-parity-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let conf = "\(dir)/omni.conf"
        try config.replacingOccurrences(of: "DIR", with: dir).write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = nil
        env["CREDENTIALS_DIRECTORY"] = nil
        for (k, v) in extra { env[k] = v }
        return try ["check-config", "run"].map { command in
            try Binaries.runToCompletion("omnid", [command, "--config", conf], environment: env)
        }
    }

    func testMissingKeyForTheRealServiceFailsBoth() throws {
        for r in try both("[audio]\ncapture = \"null\"\nplayback = \"null\"\n[control]\nsocket = \"DIR/c.sock\"\n") {
            XCTAssertEqual(r.status, 78, r.output)
            XCTAssertTrue(r.output.contains("service.api_key_file: no API key for wss://"), r.output)
        }
    }

    func testBadBoardButtonFailsBoth() throws {
        let board = "[button]\nline = \"GPIO17\"\ndebounce_ms = 100000\n"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-parity-board-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try board.write(toFile: "\(dir)/b.toml", atomically: true, encoding: .utf8)
        let results = try both("[board]\nfile = \"\(dir)/b.toml\"\n[audio]\ncapture = \"null\"\nplayback = \"null\"\n[control]\nsocket = \"DIR/c.sock\"\n",
                               env: ["DASHSCOPE_API_KEY": "test-key-not-real"])
        for r in results {
            XCTAssertEqual(r.status, 78, r.output)
            XCTAssertTrue(r.output.contains("\(dir)/b.toml:3: button.debounce_ms"), r.output)
        }
    }
}
