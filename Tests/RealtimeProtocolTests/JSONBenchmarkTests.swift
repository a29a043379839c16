// Runner for bench/json (skipped unless OMNI_JSON_BENCH=1; see bench/json/run.sh): how long the
// JSON parser takes for objects with many keys, and that the time grows linearly with the key
// count. A speed figure, so it is printed by a benchmark rather than asserted in JSONTests.

import Foundation
import RealtimeProtocol
import XCTest

final class JSONBenchmarkTests: XCTestCase {
    func testManyKeysParseInLinearTime() throws {
        guard ProcessInfo.processInfo.environment["OMNI_JSON_BENCH"] == "1" else {
            throw XCTSkip("benchmark: run bench/json/run.sh (OMNI_JSON_BENCH=1)")
        }
        let clock = ContinuousClock()
        var rows: [(keys: Int, best: Duration)] = []
        for keys in [10_000, 20_000, 40_000, 80_000] {
            var text = "{"
            for i in 0..<keys { text += "\"k\(i)\":\(i)," }
            text += #""k5":-5}"#
            var best = Duration.seconds(3600)
            for _ in 0..<9 {
                var parsed: JSONValue?
                let t = clock.measure { parsed = try? JSONParser.parse(text) }
                XCTAssertEqual(parsed?.objectValue?.count, keys)
                best = min(best, t)
            }
            rows.append((keys, best))
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        print("JSON BENCH: parse of one object with N distinct keys (+1 duplicate), best of 9")
        for r in rows {
            print(String(format: "JSON BENCH:   %6d keys  %8.1f ms  %6.0f ns/key", r.keys, ms(r.best), ms(r.best) * 1e6 / Double(r.keys)))
        }
        // 8× the keys: linear is 8× the time, quadratic 64×. Caches and a busy machine move the
        // per-key cost by 2–3× here, so the line is drawn at 4× (32× the time).
        let growth = ms(rows.last!.best) / max(ms(rows.first!.best), 0.001)
        print(String(format: "JSON BENCH:   80k / 10k keys: %.1f× the time (linear 8×, quadratic 64×)", growth))
        XCTAssertLessThan(growth, 32, "parse time grows faster than linearly with the key count")
    }
}
