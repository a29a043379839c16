import Foundation
import XCTest

/// SIGHUP (`systemctl reload omnid`): a new voice and instructions go out as `session.update` on
/// the same connection; an invalid file keeps the running configuration and says why.
final class OmnidReloadTests: XCTestCase {
    func testReloadUpdatesSessionWithoutReconnectingAndSurvivesABadFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let simLog = "\(dir)/sim.jsonl"
        let sim = try SimProcess(arguments: ["--log", simLog, "--log-audio", "false"])
        let conf = "\(dir)/omni.conf"
        func write(voice: String, instructions: String, extra: String = "") throws {
            try """
                [service]
                url = "\(sim.url)"
                [session]
                voice = "\(voice)"
                instructions = "\(instructions)"
                [audio]
                capture = "null"
                playback = "null"
                [control]
                socket = "\(dir)/ctl.sock"
                \(extra)
                """.write(toFile: conf, atomically: true, encoding: .utf8)
        }
        try write(voice: "Cherry", instructions: "Be brief.")
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-reload"
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.terminateAndWait() }
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("session ready") }, omnid.stderr)
        XCTAssertTrue(omnid.waitFor { $0.catches(SIGHUP) }, "omnid never set up its SIGHUP handling")

        /// The client's session.update events, with the connection they came on.
        func updates() -> [(conn: Int, session: [String: Any])] {
            let text = (try? String(contentsOfFile: simLog, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      o["dir"] as? String == "client", let e = o["event"] as? [String: Any],
                      e["type"] as? String == "session.update", let s = e["session"] as? [String: Any],
                      let conn = o["conn"] as? Int else { return nil }
                return (conn, s)
            }
        }
        XCTAssertEqual(updates().count, 1)

        try write(voice: "Ethan", instructions: "Answer like a pirate.")
        omnid.signal(SIGHUP)
        XCTAssertTrue(omnid.waitFor { _ in updates().count == 2 }, omnid.stderr)
        let u = updates()
        XCTAssertEqual(u.map(\.conn), [u[0].conn, u[0].conn], "reload must not reconnect")
        XCTAssertEqual(u[1].session["voice"] as? String, "Ethan")
        XCTAssertEqual(u[1].session["instructions"] as? String, "Answer like a pirate.")
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("configuration reloaded") })

        // A broken file: logged with file, line and key; the running config stays.
        try write(voice: "Ethan", instructions: "x", extra: "[log]\nlevle = \"debug\"")
        omnid.signal(SIGHUP)
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("reload failed, keeping the running configuration") },
                      omnid.stderr)
        XCTAssertTrue(omnid.stderr.contains("\(conf):12: log.levle: unknown key; did you mean level?"), omnid.stderr)
        XCTAssertTrue(omnid.process.isRunning)
        XCTAssertEqual(updates().count, 2, "nothing sent for an invalid file")
        let status = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", "\(dir)/ctl.sock", "status"])
        XCTAssertTrue(status.waitForExit(), "omnid ctl status did not finish")
        XCTAssertTrue(status.stdout.contains("connection:  ready"), status.stdout + status.stderr)
    }
}
