import Foundation
import XCTest

/// The real omnid binary at debug log level: the API key must appear in no log line, whether
/// the key is accepted or rejected.
final class OmnidLogSecretTests: XCTestCase {
    /// A stand-in key, made per run (no key-shaped literal in the tree): long and unique enough
    /// that finding it in a log means it leaked.
    let secret = "test-only-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")

    func runOmnid(simKey: String) throws -> String {
        let sim = try SimProcess(arguments: ["--api-key", simKey])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("omni.conf")
        try """
            [service]
            url = "\(sim.url)"
            [audio]
            capture = "null"
            playback = "null"
            [control]
            socket = "\(dir.path)/ctl.sock"
            [log]
            level = "trace"
            """.write(to: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = secret
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf.path], environment: env)
        let expected = simKey == secret ? "session ready" : "HTTP 401"
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains(expected) }, "no '\(expected)' in: \(omnid.stderr)")
        omnid.terminateAndWait()
        XCTAssertFalse(omnid.process.arguments!.joined(separator: " ").contains(secret))
        sim.child.terminateAndWait()
        return omnid.stderr + omnid.stdout
    }

    func testKeyNeverLoggedWhenAccepted() throws {
        let log = try runOmnid(simKey: secret)
        XCTAssertTrue(log.contains("<7>"), "debug lines expected with journald prefixes: \(log.prefix(500))")
        XCTAssertFalse(log.contains(secret), "the API key leaked into the log")
        XCTAssertFalse(log.contains("SECRETKEY"), "part of the API key leaked into the log")
    }

    func testKeyNeverLoggedWhenRejected() throws {
        let log = try runOmnid(simKey: "sk-some-other-key")
        XCTAssertFalse(log.contains(secret), "the API key leaked into the log")
        XCTAssertFalse(log.contains("SECRETKEY"), "part of the API key leaked into the log")
    }
}
