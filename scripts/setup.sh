#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12 / Raspberry Pi OS (bookworm).
# Safe to run again: it only installs what is missing. Needs root (or sudo) for apt.
set -euo pipefail

PKGS=(
  pkg-config libasound2-dev libgpiod-dev libwebsockets-dev libspeexdsp-dev libtomlplusplus-dev libssl-dev libturbojpeg0-dev
  alsa-utils gpiod espeak-ng sox systemd make python3 python3-pip python3-venv debhelper lintian openssl
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "setup: add /opt/swift/usr/bin to PATH"
  else
    echo "setup: Swift 6 is required (https://www.swift.org/install/linux/); not found" >&2
    exit 1
  fi
fi
