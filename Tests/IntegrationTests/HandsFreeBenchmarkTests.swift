import Foundation
import OmniCore
import XCTest

/// Runner for bench/aec/handsfree.sh (skipped unless OMNI_AEC_HANDSFREE_BENCH=1): N answers
/// (OMNI_AEC_HANDSFREE_ANSWERS, default 100) through the simulated room in `vad` mode, nobody
/// speaking while they play, with echo cancellation, with half duplex, and with neither; prints
/// how often the service's VAD heard speech beyond the N questions. OmnidEchoTests asserts the
/// same on 10 answers.
final class HandsFreeBenchmarkTests: XCTestCase {
    func testSelfInterruptionsPerHundredAnswers() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["OMNI_AEC_HANDSFREE_BENCH"] == "1" else {
            throw XCTSkip("benchmark: run bench/aec/handsfree.sh (OMNI_AEC_HANDSFREE_BENCH=1)")
        }
        let n = Int(env["OMNI_AEC_HANDSFREE_ANSWERS"] ?? "") ?? 100
        var rows: [String] = []
        // OMNI_AEC_HANDSFREE_ONLY=on: only the run with cancellation (its ready sound included).
        let only = env["OMNI_AEC_HANDSFREE_ONLY"].flatMap { $0.isEmpty ? nil : $0 }
        for (name, cancel, halfDuplex) in [("cancellation on", "on", true), ("half duplex", "off", true), ("neither", "off", false)]
        where only == nil || only == (halfDuplex ? cancel : "none") {
            let r = try EchoRig.handsFree("bench-\(cancel)-\(halfDuplex)", utterances: n, echoCancel: cancel, halfDuplex: halfDuplex)
            let label = name.padding(toLength: 16, withPad: " ", startingAt: 0)
            rows.append(label + String(format: "%4d questions  %4d speech_started  %4d beyond the questions  %4d answers completed",
                                       n, r.speechStarted, r.speechStarted - n, r.completed))
            if let e = r.echo { rows.append("                 \(e.text)") }
        }
        print("hands-free through the room (\(EchoRig.room)), \(n) answers each:")
        for row in rows { print(row) }
    }
}
