# Sourced by scripts/test.sh and scripts/sanitize.sh.
# xctest_summary FILE: "total failed skipped" of an XCTest run's output; empty without its closing
# "Executed N tests, with …" line. failed = test cases that failed: XCTest's own count is of
# failed assertions, so one test with six failed asserts would read "6 failed".
xctest_summary() {
  local line asserts cases
  line=$(grep -E "^\s*Executed [0-9]+ tests?, with" "$1" | tail -1)
  [ -n "$line" ] || return 0
  asserts=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$line")
  cases=$(grep -cE "^Test Case '.*' failed \(" "$1" || true)
  [ "$asserts" = 0 ] || [ "$cases" -gt 0 ] || cases=1
  echo "$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line")" "$cases" \
       "$(grep -oE "[0-9]+ tests? skipped" <<<"$line" | grep -oE "^[0-9]+" || echo 0)"
}
