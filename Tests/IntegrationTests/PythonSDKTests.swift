import Foundation
import XCTest

/// Runs Tests/sim_sdk (pytest): the official DashScope Python SDK, changed only in URL and key,
/// against the real omni-sim binary, plus raw-socket checks of the simulator's rules. Driven
/// from here so `swift test`'s summary covers it.
final class PythonSDKTests: XCTestCase {
    func testOfficialSDKAndWireRulesAgainstOmniSim() throws {
        let sim = try Binaries.path("omni-sim")
        var env = ProcessInfo.processInfo.environment
        env["OMNI_SIM"] = sim
        let script = Binaries.repoRoot.appendingPathComponent("Tests/sim_sdk/run.sh").path
        let child = try ChildProcess("/bin/bash", [script, "-q"], environment: env)
        // pytest has its own per-test guards; this one only stops a wedged run (a first run
        // also creates the venv).
        guard child.waitForExit(timeout: 10 * TestGuard.seconds) else {
            child.killAndWait()
            return XCTFail("pytest did not finish:\n\((child.stdout + child.stderr).suffix(6000))")
        }
        let out = child.stdout + child.stderr
        let summary = out.split(separator: "\n").last { $0.contains(" passed") || $0.contains(" failed") } ?? "no summary"
        print("pytest: \(summary)")
        XCTAssertEqual(child.process.terminationStatus, 0, "pytest failed:\n\(out.suffix(6000))")
    }
}
