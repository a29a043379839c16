#!/usr/bin/env bash
# Echo cancellation benchmark: ERLE, convergence, double talk and CPU on simulated rooms
# (see README.md here).
#
#   bench/aec/run.sh                    # espeak-ng speech when installed, release build
#   bench/aec/run.sh --synthetic        # seeded speech-shaped noise instead
#   bench/aec/run.sh --only D,drift+100 --no-ablation
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product omni-bench-aec >/dev/null
exec "$(swift build -c release --show-bin-path)/omni-bench-aec" "$@"
