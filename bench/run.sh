#!/usr/bin/env bash
# The conversation benchmark (see bench/README.md): the same 20 push-to-talk turns through omnid
# (virtual board, control-socket button) and through a reference client that follows the
# official DashScope Python SDK's manual-mode sample, both against omni-sim; then omnid alone
# (exec → ready, reconnect, presses on a routine close, a 1,000-turn soak, 12 minutes idle, and
# the hour of bench/soak's session-lifecycle soak: idle close every 3 s, the issue's benchmark).
# Prints a table; exits non-zero, without figures, when a client misbehaves (missing answer,
# wrong audio length, cut recording, …) or, after them, when the lifecycle soak saw an outage,
# a warning or an unanswered turn.
#
#   bench/run.sh                         # everything, release binaries (out/), about 81 minutes
#   bench/run.sh --lifecycle-seconds 600 # the same with 10 minutes of the lifecycle soak (about 31)
#   bench/run.sh --only omnid,reference  # just the comparison (about 4 minutes)
#   bench/run.sh --only idle --idle-seconds 60 --idle-vad-seconds 30   # the idle costs, quickly
#   bench/run.sh --turns 5 --soak-turns 100
#   OMNID=.build/debug/omnid OMNI_SIM=.build/debug/omni-sim bench/run.sh   # other binaries
#
# Binaries: out/omnid and out/omni-sim from scripts/release.sh, rebuilt first when a file under
# Sources/ or Package.swift is newer than them (set OMNID/OMNI_SIM to skip that). Python: a venv
# under .build/bench-venv (git-ignored) from bench/conversation/requirements.txt.
# Needs espeak-ng and sox (the spoken question), python3 with venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
venv="${BENCH_VENV:-$root/.build/bench-venv}"
python="${PYTHON:-python3}"

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install espeak-ng sox)" >&2; exit 2; }
done

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
# Reinstall only when requirements.txt changed.
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/conversation/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/conversation/requirements.txt"
  echo "$want" > "$stamp"
fi

omnid="${OMNID:-}"
omni_sim="${OMNI_SIM:-}"
if [[ -z "$omnid" || -z "$omni_sim" ]]; then
  omnid="$root/out/omnid"
  omni_sim="$root/out/omni-sim"
  if [[ ! -x "$omnid" || ! -x "$omni_sim" ]] ||
     [[ -n "$(find Sources Package.swift Package.resolved -newer "$omnid" -print -quit 2>/dev/null)" ]] ||
     [[ -n "$(find Sources Package.swift Package.resolved -newer "$omni_sim" -print -quit 2>/dev/null)" ]]; then
    echo "bench: building release binaries (scripts/release.sh)" >&2
    scripts/release.sh >&2
  fi
fi

exec "$venv/bin/python" "$here/conversation/bench.py" --python "$venv/bin/python" \
  --omnid "$omnid" --omni-sim "$omni_sim" --command "bench/run.sh${*:+ $*}" "$@"
