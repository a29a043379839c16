#!/usr/bin/env bash
# Builds omni-fuzz with libFuzzer and AddressSanitizer and fuzzes each target for a time budget,
# starting from the committed seeds (fuzz/corpus/<target>/). Exits non-zero if any target
# crashed, hung, ran out of memory or broke a property. See fuzz/README.md.
#
#   fuzz/run.sh                  every target, 30 s each (what CI runs)
#   fuzz/run.sh 600              every target, 10 minutes each
#   fuzz/run.sh 120 json wav     some targets
#
# Work files go to .build-fuzz/ (git-ignored): the grown corpus in .build-fuzz/corpus/<target>/
# (kept between runs, so longer runs build on earlier ones) and findings in
# .build-fuzz/findings/<target>/ (crash-*, timeout-*, oom-*, leak-*).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json config board control wav)
scratch=.build-fuzz

# Swift code gets libFuzzer's coverage and ASan; the C shims (toml++'s walk among them) get
# the same instrumentation so memory errors there are caught too. -DOMNI_LIBFUZZER makes the
# driver hand its main to libFuzzer (fuzz/Driver/OmniFuzzMain.swift).
echo "fuzz: building omni-fuzz with libFuzzer + ASan in $scratch" >&2
log=$(mktemp)
if ! swift build --scratch-path "$scratch" -c debug --product omni-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DOMNI_LIBFUZZER \
    -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address >"$log" 2>&1; then
  # gold warns once per ASan helper symbol ("Cannot export local symbol"): noise, not ours.
  grep -v "Cannot export local symbol" "$log" | tail -40 >&2
  echo "fuzz: build failed" >&2
  exit 1
fi
rm -f "$log"
bin="$scratch/debug/omni-fuzz"

# The Swift runtime's own crash handler would take over (and wait on a debugger); libFuzzer and
# ASan report crashes themselves.
export SWIFT_BACKTRACE=enable=no

# Largest input: 4 KiB reaches every branch of these parsers (etc/omni.conf, the largest seed,
# is 3.7 KiB) and keeps runs fast; FUZZ_MAX_LEN=65536 for longer searches.
max_len=${FUZZ_MAX_LEN:-4096}

# The dictionary of each target's input language (tokens libFuzzer splices into inputs).
dict() {
  case $1 in
    config|board) echo fuzz/dict/toml.dict ;;
    *) echo "fuzz/dict/$1.dict" ;;
  esac
}

status=0
summary=()
clean=0
dirty=0
for t in "${targets[@]}"; do
  seeds=fuzz/corpus/$t
  [ -d "$seeds" ] || { echo "fuzz: unknown target $t (no $seeds)" >&2; exit 2; }
  work=$scratch/corpus/$t
  findings=$scratch/findings/$t
  mkdir -p "$work" "$findings"
  out=$scratch/fuzz-$t.log
  echo "fuzz: $t for ${seconds}s" >&2
  set +e
  # New inputs go to the first folder only: the committed seeds are read, never written.
  "$bin" "$t" "$work" "$seeds" -max_total_time="$seconds" -max_len="$max_len" -dict="$(dict "$t")" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" >"$out" 2>&1
  rc=$?
  set -e
  # The final stats when the run ended normally; after a crash, the last progress line.
  execs=$(grep -aoE "stat::number_of_executed_units: [0-9]+" "$out" | grep -aoE "[0-9]+$" \
    || grep -aoE "^#[0-9]+" "$out" | tail -1 | tr -d '#' || true)
  rate=$(grep -aoE "stat::average_exec_per_sec: +[0-9]+" "$out" | grep -aoE "[0-9]+$" \
    || grep -aoE "exec/s: [0-9]+" "$out" | tail -1 | grep -aoE "[0-9]+$" || true)
  corp="$(find "$work" -type f | wc -l) files, $(du -sb "$work" | cut -f1) bytes"
  found=$(grep -aoE "Test unit written to [^ ]+" "$out" | awk '{print $NF}' || true)
  crashes=$(grep -c . <<<"$found" || true)
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    status=1
    grep -aE "ERROR: (AddressSanitizer|libFuzzer)|omni-fuzz finding|Fatal error|SUMMARY" "$out" | head -5 >&2 || true
    # Our frames of the first stack, with Swift names demangled (libFuzzer prints them mangled).
    awk '/^ +#0 /{n++} n==1 && /^ +#[0-9]+ /' "$out" | swift demangle --simplified \
      | grep -vE "compiler-rt|libc\.so|libswiftCore\.so|Swift\.o|<unknown>" | head -8 >&2 || true
    echo "fuzz: $t: full log in $out" >&2
    for f in $found; do
      echo "fuzz: $t: reproduce with: $bin $t $f   (minimize: $bin $t -minimize_crash=1 -runs=100000 $f)" >&2
    done
    [ -n "$found" ] || { echo "fuzz: $t exited $rc without a saved input; see $out" >&2; crashes=1; }
  fi
  if [ "$crashes" = 0 ] && [ "$rc" = 0 ]; then clean=$((clean + 1)); else dirty=$((dirty + 1)); fi
  summary+=("$(printf '%-8s %10s execs %7s exec/s   corpus %-24s crashes %s' "$t" "${execs:-0}" "${rate:-0}" "$corp" "$crashes")")
done

echo "fuzz: ${seconds}s per target"
printf '%s\n' "${summary[@]}"
# One check per target, in the plain form CI sums up.
echo "fuzz: $clean passed, $dirty failed"
exit "$status"
