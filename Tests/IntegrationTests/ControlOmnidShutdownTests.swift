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
        let setup = try NullAudioOmnid("ctl-term", url: sim.url, apiKey: "sk-ctl-term")
        defer { setup.remove() }
        let socketPath = setup.socketPath

        for round in 1...rounds {
            let omnid = try setup.start()
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

