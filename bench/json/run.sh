#!/usr/bin/env bash
# JSON parser benchmark: parse time for objects with 10k…80k keys, and its growth (linear
# expected; the run fails when 8× the keys take more than 32× the time, as a quadratic key
# check would). Debug build through the XCTest runner (JSONBenchmarkTests), like bench/audio
# without its release target. JSONTests checks the same parse for correctness, untimed.
#
#   bench/json/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build --build-tests >/dev/null
OMNI_JSON_BENCH=1 swift test --skip-build --filter JSONBenchmarkTests 2>&1 | grep -E 'JSON BENCH|error|failed'
