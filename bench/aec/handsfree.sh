#!/usr/bin/env bash
# Hands-free self-interruption benchmark: N answers (default 100) played into the simulated room
# in vad mode while nobody speaks, through the real omnid and omni-sim; prints how many
# speech_started the service's VAD sent beyond the N questions with echo cancellation, with
# half duplex, and with neither. About 3.5 s per answer per run (real-time audio): ~18 min for 100.
#
#   bench/aec/handsfree.sh          # 100 answers
#   bench/aec/handsfree.sh 20
#   bench/aec/handsfree.sh 100 on   # only the run with cancellation ("off": half duplex, "none": neither)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build --build-tests >/dev/null
OMNI_AEC_HANDSFREE_BENCH=1 OMNI_AEC_HANDSFREE_ANSWERS="${1:-100}" OMNI_AEC_HANDSFREE_ONLY="${2:-}" \
    swift test --skip-build --disable-swift-testing --filter HandsFreeBenchmarkTests 2>&1 \
    | sed -n '/^hands-free through the room/,/^Test Case/p' | grep -v '^Test Case'
