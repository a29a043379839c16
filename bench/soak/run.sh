#!/usr/bin/env bash
# The session-lifecycle soak (bench/soak/README.md): two omnids against omni-sim with the
# service's rules on short timers (idle close 3 s, cap 20 s) and push-to-talk turns now and then,
# for an hour by default. Prints renewals, routine closes, outages, warnings and RSS / fds /
# threads at the start and the end; exits 1 (after the figures) on an outage, a warning, an
# `offline` LED or a turn that was not answered.
#
#   bench/soak/run.sh                   # 3600 s
#   bench/soak/run.sh --duration 300    # a quick one
#   OMNID=.build/debug/omnid OMNI_SIM=.build/debug/omni-sim bench/soak/run.sh --duration 60
#
# Binaries: out/omnid and out/omni-sim from scripts/release.sh, rebuilt first when a file under
# Sources/ or Package.swift is newer (set OMNID/OMNI_SIM to skip that). Python 3 standard library only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
omnid="${OMNID:-}"
omni_sim="${OMNI_SIM:-}"
if [[ -z "$omnid" || -z "$omni_sim" ]]; then
  omnid="$root/out/omnid"
  omni_sim="$root/out/omni-sim"
  if [[ ! -x "$omnid" || ! -x "$omni_sim" ]] ||
     [[ -n "$(find Sources Package.swift Package.resolved -newer "$omnid" -print -quit 2>/dev/null)" ]] ||
     [[ -n "$(find Sources Package.swift Package.resolved -newer "$omni_sim" -print -quit 2>/dev/null)" ]]; then
    echo "soak: building release binaries (scripts/release.sh)" >&2
    scripts/release.sh >&2
  fi
fi
exec python3 "$here/lifecycle.py" --omnid "$omnid" --omni-sim "$omni_sim" --command "bench/soak/run.sh${*:+ $*}" "$@"
