#!/usr/bin/env bash
# Audio engine benchmark: CPU time per minute of full-duplex audio (see README.md here).
#
#   bench/audio/run.sh                      # 60 s of audio in real time, null devices, release build
#   bench/audio/run.sh --seconds 600 --speed 10
#   bench/audio/run.sh --devices plughw:CARD=Device,plughw:CARD=Device   # real card (on a board)
#
# Uses the omni-bench-audio executable target (bench/audio/main.swift) when Package.swift has
# it; otherwise falls back to the XCTest runner (AudioBenchmarkTests, null devices, debug build:
# higher figures than release).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"

if grep -q '"omni-bench-audio"' Package.swift; then
    swift build -c release --product omni-bench-audio >/dev/null
    exec "$(swift build -c release --show-bin-path)/omni-bench-audio" "$@"
fi

seconds=60 speed=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --speed) speed="$2"; shift 2 ;;
        *) echo "without the omni-bench-audio target only --seconds and --speed are supported" >&2; exit 2 ;;
    esac
done
echo "(omni-bench-audio target not in Package.swift: XCTest runner, debug build)" >&2
swift build --build-tests >/dev/null
OMNI_AUDIO_BENCH=1 OMNI_AUDIO_BENCH_SECONDS="$seconds" OMNI_AUDIO_BENCH_SPEED="$speed" \
    swift test --skip-build --filter AudioBenchmarkTests 2>&1 | grep -A5 'AUDIO BENCH'
