#!/usr/bin/env bash
# Voice barge-in benchmark: a second voice over the answer, N trials of real omnid (vad mode,
# barge_in = "voice") against real omni-sim; prints the detection rate and the other outcomes
# (see README.md here). About 10 s per trial (the microphone runs in real time).
#
#   bench/bargein/run.sh                           # 100 trials, seed 1
#   bench/bargein/run.sh --trials 20 --seed 7
#   bench/bargein/run.sh --audio 'room = "…";echo_cancel = "on"'   # [audio] lines, ;-separated;
#                                                  # trials in blocks of 10 per echo path
#   bench/bargein/run.sh --block 1 --audio '…'     # every trial the first answer of a new echo path
#   OMNI_BARGEIN_WARMUP=1 bench/bargein/run.sh …   # a warm-up answer at the start of each block
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
trials=100 seed=1 audio="" block=""
while [ $# -gt 0 ]; do
    case "$1" in
        --trials) trials="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --audio) audio="$2"; shift 2 ;;
        --block) block="$2"; shift 2 ;;
        *) echo "usage: $0 [--trials N] [--seed S] [--block N] [--audio 'KEY = VALUE;…']" >&2; exit 2 ;;
    esac
done
swift build --build-tests >/dev/null
# The run takes a while: it uses a copy of the binaries, so the tree can be rebuilt meanwhile.
bin="$(swift build --show-bin-path)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$bin/omnid" "$bin/omni-sim" "$bin/omnidPackageTests.xctest" "$work/"
log="$work/log"
OMNI_BIN_DIR="$work" OMNI_BARGEIN_BENCH=1 OMNI_BARGEIN_TRIALS="$trials" OMNI_BARGEIN_SEED="$seed" \
    OMNI_BARGEIN_AUDIO="$audio" OMNI_BARGEIN_BLOCK="$block" \
    "$work/omnidPackageTests.xctest" IntegrationTests.BargeInBenchTests >"$log" 2>&1 || true
grep '^BARGE-IN trial' "$log" | grep -v 'detected true, false starts 0, response active true, cancel sent true, stopped true' || true
if ! grep -q 'BARGE-IN BENCH' "$log"; then
    tail -40 "$log" >&2
    exit 1
fi
sed -n '/^BARGE-IN BENCH/,/^Test Case/p' "$log" | grep -v '^Test Case'
