#!/usr/bin/env bash
# Release build of omnid: static Swift runtime, stripped. Prints the size and what it still
# links against dynamically.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --static-swift-stdlib --product omnid --scratch-path .build-release
mkdir -p out
cp .build-release/release/omnid out/omnid
strip out/omnid
swift build -c release --static-swift-stdlib --product omni-sim --scratch-path .build-release
cp .build-release/release/omni-sim out/omni-sim
strip out/omni-sim
ls -l out/omnid out/omni-sim
echo "omnid runtime dependencies:"
ldd out/omnid
