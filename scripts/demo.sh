#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and shows omnid working against
# the local simulator. It grows with the project; today it validates the demo configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh
swift build --product omnid
swift build --product omni-sim
echo "== omnid check-config (demo configuration)"
.build/debug/omnid check-config --config demo/omni.conf
