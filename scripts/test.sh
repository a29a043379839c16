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
#
# The day in the life (OmnidDayInTheLifeTests: 100+ turns at the issue's 0.1–10 s gaps, about 7
# minutes) is almost all waiting, so it runs in a second `swift test` process beside the rest of
# the suite, started now; its output follows the suite's. Both use --ignore-lock: SwiftPM locks
# .build for the whole of a `swift test`, so otherwise the second would wait for the first; with
# --skip-build neither builds anything (they only read the build database). Each test makes its
# own scratch directory and takes free ports from the kernel, so the two do not collide. Given
# a --filter or --skip (or a test specifier), the one `swift test` runs as asked.
day=OmnidDayInTheLifeTests
split=1
for a in "$@"; do
  case "$a" in --filter|--filter=*|--skip|--skip=*|-s|--specifier|--specifier=*) split=0 ;; esac
done
# SwiftPM's note that it ignores the lock ends without a newline; give it one.
tidy() { sed -u 's/`--ignore-lock` has been passed/&\n/'; }

# "total failed skipped" of a run's closing "Executed N tests, with …" line; empty without one.
summary() {
  local line
  line=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$1" | tail -1)
  [ -n "$line" ] || return 0
  echo "$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line")" \
       "$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$line")" \
       "$(grep -oE "[0-9]+ tests? skipped" <<<"$line" | grep -oE "^[0-9]+" || echo 0)"
}

out=$(mktemp)
set +e
if [ "$split" = 1 ]; then
  day_out=$(mktemp)
  day_rc=$(mktemp)
  { swift test --skip-build --ignore-lock --disable-swift-testing --filter "$day" "$@" 2>&1; echo $? >"$day_rc"; } \
    | tidy >"$day_out" &
  day_pid=$!
  swift test --skip-build --ignore-lock --disable-swift-testing --skip "$day" "$@" 2>&1 | tidy | tee "$out"
  status=${PIPESTATUS[0]}
  wait "$day_pid"
  day_status=$(cat "$day_rc")
  echo "=== $day (run beside the rest of the suite; exit $day_status):"
  cat "$day_out"
  [ "$day_status" = 0 ] || status=1
else
  swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
fi
set -e

# A plain closing line any CI can read: both runs together.
read -r total failed skipped <<<"$(summary "$out")"
if [ "$split" = 1 ]; then
  read -r day_total day_failed day_skipped <<<"$(summary "$day_out")"
  if [ -z "${day_total:-}" ]; then
    echo "test: the $day run printed no summary" >&2
    status=1
  elif [ -n "${total:-}" ]; then
    total=$((total + day_total)); failed=$((failed + day_failed)); skipped=$((skipped + day_skipped))
  fi
fi
if [ -n "${total:-}" ]; then
  echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
