import Foundation
import XCTest

/// Runner for bench/bargein (skipped unless OMNI_BARGEIN_BENCH=1; see bench/bargein/run.sh):
/// OMNI_BARGEIN_TRIALS trials (default 100) of Support/BargeInTrials.swift; OMNI_BARGEIN_AUDIO
/// adds `[audio]` lines (`;`-separated), e.g. a room and echo cancellation once they exist.
final class BargeInBenchTests: XCTestCase {
    func testVoiceBargeInDetectionRate() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["OMNI_BARGEIN_BENCH"] == "1" else { throw XCTSkip("benchmark: run bench/bargein/run.sh (OMNI_BARGEIN_BENCH=1)") }
        let n = Int(env["OMNI_BARGEIN_TRIALS"] ?? "") ?? 100
        let seed = UInt64(env["OMNI_BARGEIN_SEED"] ?? "") ?? 1
        let audio = (env["OMNI_BARGEIN_AUDIO"] ?? "").split(separator: ";").map { String($0) }
        // OMNI_BARGEIN_WARMUP=0 leaves out the warm-up that comes with `[audio]` lines (BargeInTrials).
        let warmUp = env["OMNI_BARGEIN_WARMUP"].map { $0 != "0" }
        let trials = try BargeInTrials("bargein-bench", audioExtra: audio, warmUp: warmUp)
        var outcomes: [BargeInOutcome] = []
        for i in 0..<n {
            let o = try trials.run(trial: i, seed: seed &* 1000 &+ UInt64(i))
            print("BARGE-IN \(o)")
            outcomes.append(o)
        }
        func count(_ p: (BargeInOutcome) -> Bool) -> Int { outcomes.filter(p).count }
        func pct(_ k: Int, _ of: Int) -> String { of == 0 ? "-" : String(format: "%d/%d (%.0f %%)", k, of, 100 * Double(k) / Double(of)) }
        let active = count { $0.detected && $0.responseActive }
        let stops = outcomes.compactMap { $0.playbackStopped ? $0.stopAfterOnsetMs : nil }.sorted()
        func q(_ p: Double) -> String { stops.isEmpty ? "-" : String(format: "%.0f", stops[min(stops.count - 1, Int(p * Double(stops.count)))]) }
        let into = outcomes.compactMap(\.bargeIntoAnswerMs)
        print("""
            BARGE-IN BENCH: \(n) trials, seed \(seed), [audio] \(audio.isEmpty ? "no room" : audio.joined(separator: ", "))\(trials.warmUp ? ", warm-up answer first" : "")
              second voice \(String(format: "%.0f–%.0f", into.min() ?? 0, into.max() ?? 0)) ms into the answer, at its level ± 3 dB
              detected by the server (speech_started)     \(pct(count(\.detected), n))
              false starts during the answer              \(outcomes.map(\.falseStarts).reduce(0, +))
              response.cancel sent while it was active    \(pct(count { $0.detected && $0.responseActive && $0.cancelSent }, active))
              playback stopped                            \(pct(count(\.playbackStopped), n))
                onset → last sound, ms: p50 \(q(0.5))  p95 \(q(0.95))  max \(stops.last.map { String(format: "%.0f", $0) } ?? "-")
              the new question answered                   \(pct(count(\.answered), n))\(trials.warmUp ? "\n  false starts during the warm-up's answer    \(outcomes.map(\.warmUpFalseStarts).reduce(0, +))" : "")
            """)
        XCTAssertEqual(outcomes.count, n)
    }
}
