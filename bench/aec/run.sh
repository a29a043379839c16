#!/usr/bin/env bash
# Echo cancellation benchmark: ERLE, convergence, double talk and CPU on simulated rooms
# (see README.md here).
#
#   bench/aec/run.sh                    # espeak-ng speech when installed, release build
#   bench/aec/run.sh --synthetic        # seeded speech-shaped noise instead
#   bench/aec/run.sh --only D,drift+100 --no-ablation
#   bench/aec/run.sh --webrtc           # also webrtc-audio-processing's AEC2 on the static rooms
#                                       # (needs libwebrtc-audio-processing-dev and g++)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
args=()
for a in "$@"; do
    if [ "$a" = "--webrtc" ]; then
        if ! pkg-config --exists webrtc-audio-processing; then
            echo "--webrtc needs libwebrtc-audio-processing-dev (apt-get install libwebrtc-audio-processing-dev)" >&2
            exit 2
        fi
        mkdir -p .build/aec-webrtc
        g++ -O2 -std=c++14 -o .build/aec-webrtc/aec_webrtc bench/aec/webrtc/aec_webrtc.cpp \
            $(pkg-config --cflags --libs webrtc-audio-processing)
        args+=(--webrtc "$PWD/.build/aec-webrtc/aec_webrtc")
    else
        args+=("$a")
    fi
done
swift build -c release --product omni-bench-aec >/dev/null
exec "$(swift build -c release --show-bin-path)/omni-bench-aec" "${args[@]}"
