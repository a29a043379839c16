import Foundation
@testable import OmniLinux
import XCTest

/// The real omnid on the virtual board: SIGTERM while `omnid ctl status` clients poll must end
/// the daemon (issue 16: shutdown joined the control thread while that thread waited for the
/// controller to answer a status request, and 18 of 20 SIGTERMs never exited).
final class ControlOmnidShutdownTests: XCTestCase {
    /// How many clients poll at once, and how many start/SIGTERM rounds: the load of the report
    /// (18 of 20 SIGTERMs hung with 8 pollers); before the fix the first round already hung.
    let pollerCount = 8
    let rounds = 10

    func testSIGTERMWhileClientsPollStatusExitsEveryTime() throws {
        let sim = try SimProcess()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-ctl-term-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socketPath = "\(dir)/ctl.sock"
        let conf = "\(dir)/omni.conf"
        try """
            [service]
            url = "\(sim.url)"
            [board]
            name = "virtual"
            [audio]
            capture = "null"
            playback = "null"
            [control]
            socket = "\(socketPath)"
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-ctl-term"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnidPath = try Binaries.path("omnid")

        for round in 1...rounds {
            let omnid = try ChildProcess(omnidPath, ["run", "--config", conf], environment: env)
            let pollers = ControlPollers(count: pollerCount, socket: socketPath)
            // SIGTERM once omnid handles it (its signal handlers go in before the session
            // connects) and every poller is in full swing.
            let polling = omnid.waitFor { c in
                c.stderr.contains("session ready") && pollers.answers >= 4 * self.pollerCount
            }
            omnid.signal(SIGTERM)
            // A hang guard, not a time limit: a healthy omnid exits far sooner.
            let exited = omnid.waitFor { !$0.process.isRunning }
            pollers.finish()
            guard polling, exited else {
                omnid.killAndWait()
                XCTFail("round \(round): \(polling ? "omnid did not exit after SIGTERM" : "status never answered"); stderr:\n\(omnid.stderr.suffix(2000))")
                return
            }
            omnid.process.waitUntilExit()
            XCTAssertEqual(omnid.process.terminationReason, .exit, "round \(round)")
            XCTAssertEqual(omnid.process.terminationStatus, 0, "round \(round): \(omnid.stderr.suffix(2000))")
            XCTAssertNotEqual(access(socketPath, F_OK), 0, "round \(round): socket file left behind")
        }
    }
}

