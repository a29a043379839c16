#!/usr/bin/env bash
# Builds out/omnid_VERSION_ARCH.deb the Debian way: debian/rules (debhelper, dh compat 13) runs
# `swift build -c release --static-swift-stdlib`, dh_installsystemd/sysusers/tmpfiles/udev
# install systemd/, dh_shlibdeps computes Depends; then lintian checks it (errors and warnings
# fail). OUT_DIR picks the output folder (OUT the .deb's path); OMNID_BIN packages a prebuilt
# binary instead of building one; LINTIAN=0 skips lintian.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
OUT_DIR="${OUT_DIR:-out}"
need=(debhelper dpkg-dev fakeroot)
[ "${LINTIAN:-1}" = 0 ] || need+=(lintian)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "deb: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

version="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/OmniLinux/Runtime/ConnectRequest+Config.swift)"
changelog="$(dpkg-parsechangelog -S Version)"
if [ "$version" != "$changelog" ]; then
  echo "deb: the source says version $version but debian/changelog says $changelog; add a changelog entry (dch -v $version)" >&2
  exit 1
fi
dpkg-checkbuilddeps || { echo "deb: build dependencies missing (scripts/setup.sh installs them)" >&2; exit 1; }
if [ -n "${OMNID_BIN:-}" ]; then OMNID_BIN="$(realpath "$OMNID_BIN")"; export OMNID_BIN; fi
mkdir -p "$OUT_DIR"
arch="$(dpkg --print-architecture)"
deb="$OUT_DIR/omnid_${version}_${arch}.deb"
rm -f "$deb"
# debian/rules works in the source tree: one build at a time.
exec 8>"$(pwd)/debian/.build.lock"
flock 8
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Only the binary package (no source package, .changes or .buildinfo beside the clone).
root=""; [ "$(id -u)" = 0 ] || root="fakeroot"
if ! { debian/rules clean && debian/rules build && DEB_DESTDIR="$(realpath "$OUT_DIR")" $root debian/rules binary; } >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "deb: debian/rules failed" >&2
  exit 1
fi
debian/rules clean >/dev/null 2>&1 || true
[ -s "$deb" ] || { echo "deb: $deb was not made" >&2; exit 1; }
if [ -n "${OUT:-}" ] && [ "$OUT" != "$deb" ]; then mkdir -p "$(dirname "$OUT")"; mv "$deb" "$OUT"; deb="$OUT"; fi
if [ "${LINTIAN:-1}" != 0 ]; then
  # --fail-on warning: warnings fail the build like errors (no overrides).
  if ! lintian --fail-on error,warning --tag-display-limit 0 "$deb" >"$log" 2>&1; then
    cat "$log" >&2
    echo "deb: lintian reported errors or warnings for $deb" >&2
    exit 1
  fi
  grep -v '^N:' "$log" || true
fi
echo "$deb"
