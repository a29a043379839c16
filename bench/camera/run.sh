#!/usr/bin/env bash
# Camera benchmark: CPU per minute of 1 fps capture + encode, and the memory it adds (README.md here).
#
#   bench/camera/run.sh                    # 30 s per scenario at 1 fps, release build
#   bench/camera/run.sh --seconds 60 --fps 2
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product omni-bench-camera >/dev/null
exec "$(swift build -c release --show-bin-path)/omni-bench-camera" "$@"
