import Foundation
import OmniCore
import XCTest

/// Voice barge-in end to end (issue #12): a second voice over the answer, real omnid and
/// omni-sim (Support/BargeInTrials.swift). A few trials, each outcome asserted; the detection
/// rate over 100 trials is bench/bargein's figure.
final class OmnidBargeInTests: XCTestCase {
    func testSecondVoiceOverTheAnswerStopsItAndIsAnswered() throws {
        let trials = try BargeInTrials("bargein")
        for i in 0..<3 {
            let o = try trials.run(trial: i, seed: UInt64(1000 + i))
            XCTAssertGreaterThan(o.bargeIntoAnswerMs ?? 0, 100, "the second voice came during the answer: \(o)")
            XCTAssertTrue(o.detected, "\(o)")
            XCTAssertEqual(o.falseStarts, 0, "\(o)")
            XCTAssertTrue(o.responseActive, "the answer was still being produced (omni-sim at real-time pace): \(o)")
            XCTAssertTrue(o.cancelSent, "response.cancel for the active response: \(o)")
            XCTAssertTrue(o.playbackStopped, "\(o)")
            XCTAssertTrue(o.answered, "\(o)\n\(trials.rig.stderr.suffix(3000))")
        }
        // Every barge-in was counted as one by omnid itself.
        XCTAssertEqual(trials.rig.status()?.counters.bargeIns, 3)
    }
}
