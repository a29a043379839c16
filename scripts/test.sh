#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings checked, and runs
# every test through `swift test` (Python SDK tests are driven from inside the Swift suite, so
# the closing summary covers them too).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh

# Our own code must build without warnings (dependencies' warnings are not ours to fix).
log=$(mktemp)
set +e
swift build --build-tests >"$log" 2>&1
build_status=$?
set -e
grep -E "^$(pwd)/(Sources|Tests|fuzz|bench)/.*(warning|error):" "$log" | sort -u || true
if [ "$build_status" != 0 ]; then
  tail -40 "$log"
  echo "test: build failed" >&2
  exit 1
fi
if grep -qE "^$(pwd)/(Sources|Tests|fuzz|bench)/.*warning:" "$log"; then
  echo "test: the build has warnings in project code (listed above)" >&2
  exit 1
fi

# Swift Testing is disabled because every test here is XCTest: its empty "0 tests" line would
# otherwise be the run's closing summary.
out=$(mktemp)
set +e
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
# A plain closing line any CI can read.
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$out" | tail -1)
total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$summary" | grep -oE "^[0-9]+" || echo 0)
if [ -n "$summary" ]; then
  echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
