#!/usr/bin/env bash
# The integration tests (real omnid + omni-sim over loopback, hostile cases included) again,
# built with AddressSanitizer for the Swift code and AddressSanitizer + UndefinedBehaviorSanitizer
# for the C shims. Swift has no UBSan mode: its own checks (overflow, bounds, exclusivity) are
# already on in debug builds and trap. Any sanitizer report, in the test process or in a child
# omnid/omni-sim, fails the run. Then the lock-free audio ring's stress test under
# ThreadSanitizer. Used by .ci/run; by hand: scripts/sanitize.sh [--filter X].
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scratch=.build-asan
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT

flags=(--sanitize=address
       -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
       -Xcxx -fsanitize=undefined -Xcxx -fno-sanitize-recover=undefined
       --scratch-path "$scratch")
log=$(mktemp)
if ! swift build --build-tests "${flags[@]}" >"$log" 2>&1; then
  tail -40 "$log"
  echo "sanitize: build failed" >&2
  exit 1
fi

# Reports go to files (one per process), so a child's report is seen even if its test passed.
# Leak checking is off: at exit XCTest and the Swift runtime keep allocations on purpose, and
# omnid's steady-state memory is watched by the soak benchmark instead.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$reports/asan"
# The sanitizer reports a crash itself; Swift's backtracer would wait on the dead process.
export SWIFT_BACKTRACE=enable=no
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
# The longest real-time scenarios are left out here (about 5 minutes of paced audio): they go
# through no C path the shorter integration tests do not. The day in the life's sessions,
# renewals and re-sends are the lifecycle tests' too; the canceller, the room and the reference
# tap run in the earcon and look-back tests, the flush fade in AudioFlushFadeTests. The 50×
# answer flood is CPU-bound in an instrumented omni-sim (its first delta took over 15 s on a
# loaded CI machine); OmnidHostileServerTests' floods take the same receive path. `make test`
# runs them all.
filter=(--filter IntegrationTests
        --skip OmnidDayInTheLifeTests --skip testAFloodOfAnswerAudioIsCutAndMemoryStaysFlat
        --skip 'OmnidEchoTests.testHandsFree(WithCancellation|HalfDuplex)DoesNotInterruptItself'
        --skip OmnidBargeInTests --skip OmnidBargeInAnyInstantTests)
[ $# -gt 0 ] && filter=("$@")
out=$(mktemp)
set +e
swift test --skip-build --disable-swift-testing "${flags[@]}" "${filter[@]}" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
found=0
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  found=1
  echo "=== sanitizer report $f"
  cat "$f"
done
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$out" | tail -1)
total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$summary" | grep -oE "^[0-9]+" || echo 0)

# ThreadSanitizer: the SPSC ring between the audio thread and the rest (its atomics are the only
# synchronisation on the real-time path). AudioEngine's playback side is left out on purpose:
# TSan cannot see Synchronization.Mutex's futex hand-over and reports a race that is not one
# (docs/tsan-playback-side.md).
tsan_out=$(mktemp)
if swift build --build-tests --sanitize=thread --scratch-path .build-tsan >"$log" 2>&1; then
  set +e
  TSAN_OPTIONS="halt_on_error=1" swift test --skip-build --disable-swift-testing --sanitize=thread --scratch-path .build-tsan \
    --filter AudioRingStressTests 2>&1 | tee "$tsan_out"
  tsan_status=${PIPESTATUS[0]}
  set -e
else
  tail -40 "$log"
  tsan_status=1
fi
tsan=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$tsan_out" | tail -1)
tsan_total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$tsan")
tsan_failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$tsan")
tsan_skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$tsan" | grep -oE "^[0-9]+" || echo 0)
if grep -q "WARNING: ThreadSanitizer" "$tsan_out" || [ "$tsan_status" != 0 ] || [ "${tsan_skipped:-0}" != 0 ]; then
  echo "sanitize: ThreadSanitizer run failed (report, failure or skip above)" >&2
  status=1
  tsan_failed=$(( ${tsan_failed:-0} > 0 ? tsan_failed : 1 ))
fi
total=$((total + ${tsan_total:-0})); failed=$((failed + ${tsan_failed:-0}))

echo "sanitize: $((total - failed - skipped)) passed, $failed failed, $skipped skipped; sanitizer reports: $found"
if [ "$found" != 0 ]; then
  echo "sanitize: sanitizer reports above" >&2
  exit 1
fi
exit "$status"
