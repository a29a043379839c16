import Foundation
import OmniCore
import XCTest

/// What the user said stays out of the log (and so out of the journal) unless debug logging is on;
/// the answer's transcript is logged at info. The line's priority is journald's `<N>` prefix.
final class OmnidTranscriptPrivacyTests: XCTestCase {
    func testTheUsersTranscriptIsLoggedOnlyAtDebug() throws {
        for level in ["info", "debug"] {
            let rig = try OmnidRig("transcript-\(level)")
            let sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "300"])
            try OmnidRig.writeWAV("\(rig.dir)/mic.wav", samples: OmnidRig.tone(seconds: 30))
            try rig.writeConfig(url: sim.url, microphone: "\(rig.dir)/mic.wav")
            try rig.start(logLevel: level)
            XCTAssertTrue(rig.waitFor { $0.stderr.contains("LED state: ready") }, rig.stderr)
            XCTAssertEqual(rig.control("press"), "ok")
            usleep(600_000)
            XCTAssertEqual(rig.control("release"), "ok")
            XCTAssertTrue(eventually(pollMicros: 20_000) { rig.status()?.counters.answered == 1 }, rig.stderr)
            XCTAssertTrue(rig.waitFor { $0.stderr.contains("omnid: assistant: ") }, rig.stderr)
            let lines = rig.stderr.split(separator: "\n")
            XCTAssertEqual(lines.filter { $0.contains("omnid: assistant: ") }.map { $0.prefix(3) }, ["<6>"], level)
            let user = lines.filter { $0.contains("omnid: user: ") }
            if level == "debug" {
                XCTAssertEqual(user.map { $0.prefix(3) }, ["<7>"], rig.stderr)
            } else {
                XCTAssertEqual(user, [], "no user transcript at info")
            }
        }
    }
}
