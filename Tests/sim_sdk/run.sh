#!/usr/bin/env bash
# Runs the omni-sim tests that use the official DashScope Python SDK and raw WebSockets.
# Installs its Python packages into a venv under .build/ (ignored by git), builds omni-sim
# unless OMNI_SIM points at a binary, then runs pytest. Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${OMNI_SIM_VENV:-$root/.build/sim-sdk-venv}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
# Reinstall only when requirements.txt changed.
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi

if [[ -z "${OMNI_SIM:-}" ]]; then
  (cd "$root" && swift build --product omni-sim >&2)
  export OMNI_SIM="$root/.build/debug/omni-sim"
fi

cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
