#!/usr/bin/env bash
# Builds out/omnid_VERSION_ARCH.deb with dpkg-deb: the files of `make install`, /etc/omni.conf
# as a conffile (0640 root:omnid), and maintainer scripts that create the user and enable the
# service. OMNID_BIN picks a prebuilt binary; OUT names the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/OmniLinux/Runtime/ConnectRequest+Config.swift)"
ARCH="$(dpkg --print-architecture)"
OUT="${OUT:-out/omnid_${VERSION}_${ARCH}.deb}"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

DESTDIR="$stage" PREFIX=/usr scripts/install.sh
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: omnid
Version: $VERSION
Architecture: $ARCH
Maintainer: omnid maintainers <omnid@localhost>
Section: sound
Priority: optional
Depends: libc6, libstdc++6, libasound2, libgpiod2, libwebsockets17, libspeexdsp1, libtomlplusplus3, libturbojpeg0, systemd
Description: voice appliance daemon for the Qwen-Omni-Realtime service
 Hold a button, speak, release, and hear the answer: omnid turns a Raspberry Pi class board
 with a microphone, a speaker, a button and LEDs into a voice appliance.
CONTROL
echo "/etc/omni.conf" > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  systemd-sysusers /usr/lib/sysusers.d/omnid.conf || true
  if getent group omnid >/dev/null; then
    chown root:omnid /etc/omni.conf /etc/omnid
  fi
  chmod 0640 /etc/omni.conf
  chmod 0750 /etc/omnid
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    systemctl enable omnid.service || true
  fi
fi
POSTINST
cat > "$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl stop omnid.service || true
fi
PRERM
cat > "$stage/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = purge ] && [ -d /run/systemd/system ]; then
  systemctl disable omnid.service || true
fi
POSTRM
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
mkdir -p "$(dirname "$OUT")"
dpkg-deb --root-owner-group --build "$stage" "$OUT" >/dev/null
echo "$OUT"
