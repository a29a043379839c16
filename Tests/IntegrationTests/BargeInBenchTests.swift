import Foundation
import XCTest

/// Runner for bench/bargein (skipped unless OMNI_BARGEIN_BENCH=1; see bench/bargein/run.sh):
/// OMNI_BARGEIN_TRIALS trials (default 100) of Support/BargeInTrials.swift in blocks of
/// OMNI_BARGEIN_BLOCK (default 10 with `[audio]` lines, else 1): each block is one microphone
/// file after a reload, so its first trial meets a new echo path. OMNI_BARGEIN_AUDIO adds
/// `[audio]` lines (`;`-separated), e.g. a room and echo cancellation; OMNI_BARGEIN_WARMUP=1
/// puts a warm-up answer at the start of each block.
final class BargeInBenchTests: XCTestCase {
    func testVoiceBargeInDetectionRate() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["OMNI_BARGEIN_BENCH"] == "1" else { throw XCTSkip("benchmark: run bench/bargein/run.sh (OMNI_BARGEIN_BENCH=1)") }
        let n = Int(env["OMNI_BARGEIN_TRIALS"] ?? "") ?? 100
        let seed = UInt64(env["OMNI_BARGEIN_SEED"] ?? "") ?? 1
        let audio = (env["OMNI_BARGEIN_AUDIO"] ?? "").split(separator: ";").map { String($0) }
        let block = max(1, Int(env["OMNI_BARGEIN_BLOCK"] ?? "") ?? (audio.isEmpty ? 1 : 10))
        let trials = try BargeInTrials("bargein-bench", audioExtra: audio, warmUp: env["OMNI_BARGEIN_WARMUP"] == "1")
        var outcomes: [BargeInOutcome] = []
        var i = 0
        while i < n {
            let seeds = (i..<min(n, i + block)).map { seed &* 1000 &+ UInt64($0) }
            for o in try trials.runBlock(first: i, seeds: seeds) {
                print("BARGE-IN \(o)")
                outcomes.append(o)
            }
            i += seeds.count
        }
        var lines = ["BARGE-IN BENCH: \(n) trials in blocks of \(block), seed \(seed), [audio] "
            + (audio.isEmpty ? "no room" : audio.joined(separator: ", ")) + (trials.warmUp ? ", warm-up answer first" : "")]
        let into = outcomes.compactMap(\.bargeIntoAnswerMs)
        lines.append(String(format: "  second voice %.0f–%.0f ms into the answer, at its level ± 3 dB", into.min() ?? 0, into.max() ?? 0))
        lines += Self.summary(outcomes, "")
        if block > 1 {
            lines += Self.summary(outcomes.filter { $0.position == 0 }, "first answer of an echo path (after the reload)")
            lines += Self.summary(outcomes.filter { $0.position > 0 }, "later answers (2nd–\(block)th of the path)")
        }
        if trials.warmUp { lines.append("  false starts during the warm-up's answer    \(outcomes.map(\.warmUpFalseStarts).reduce(0, +))") }
        if trials.readyLead > 0 {
            lines.append(String(format: "  false starts during the ready sound         %d (each block starts with %.1f s of quiet: the ready sound)",
                                outcomes.map(\.readyFalseStarts).reduce(0, +), trials.readyLead))
        }
        print(lines.joined(separator: "\n"))
        XCTAssertEqual(outcomes.count, n)
    }

    static func summary(_ outcomes: [BargeInOutcome], _ title: String) -> [String] {
        let n = outcomes.count
        func count(_ p: (BargeInOutcome) -> Bool) -> Int { outcomes.filter(p).count }
        func pct(_ k: Int, _ of: Int) -> String { of == 0 ? "-" : String(format: "%d/%d (%.0f %%)", k, of, 100 * Double(k) / Double(of)) }
        let active = count { $0.detected && $0.responseActive }
        let stops = outcomes.compactMap { $0.playbackStopped ? $0.stopAfterOnsetMs : nil }.sorted()
        func q(_ p: Double) -> String { stops.isEmpty ? "-" : String(format: "%.0f", stops[min(stops.count - 1, Int(p * Double(stops.count)))]) }
        let indent = title.isEmpty ? "  " : "    "
        var lines = title.isEmpty ? [] : ["  \(title):"]
        lines += [
            "\(indent)detected by the server while it played       \(pct(count { $0.detected && $0.responseActive }, n))",
            "\(indent)detected at all (speech_started)            \(pct(count(\.detected), n))",
            "\(indent)false starts during the answer              \(outcomes.map(\.falseStarts).reduce(0, +))",
            "\(indent)response.cancel sent while it was active    \(pct(count { $0.detected && $0.responseActive && $0.cancelSent }, active))",
            "\(indent)playback stopped                            \(pct(count(\.playbackStopped), n))",
            "\(indent)  onset → last sound, ms: p50 \(q(0.5))  p95 \(q(0.95))  max \(stops.last.map { String(format: "%.0f", $0) } ?? "-")",
            "\(indent)the new question answered                   \(pct(count(\.answered), n))",
        ]
        return lines
    }
}
