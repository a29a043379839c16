#!/usr/bin/env bash
# Installs omnid under $DESTDIR$PREFIX: the daemon, the unit, sysusers, board files, and
# /etc/omni.conf (kept if it already exists). OMNID_BIN picks a prebuilt binary (default: the
# stripped release build from scripts/release.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-/usr}"
DESTDIR="${DESTDIR:-}"
BIN="${OMNID_BIN:-out/omnid}"
if [ ! -x "$BIN" ]; then scripts/release.sh; fi

install -D -m 0755 "$BIN" "$DESTDIR$PREFIX/bin/omnid"
install -D -m 0644 systemd/omnid.service "$DESTDIR/lib/systemd/system/omnid.service"
install -D -m 0644 systemd/omnid.sysusers "$DESTDIR/usr/lib/sysusers.d/omnid.conf"
install -D -m 0644 systemd/omnid.tmpfiles "$DESTDIR/usr/lib/tmpfiles.d/omnid.conf"
install -D -m 0644 systemd/omnid.udev "$DESTDIR/lib/udev/rules.d/60-omnid.rules"
for b in board/*.toml; do
  install -D -m 0644 "$b" "$DESTDIR$PREFIX/share/omnid/boards/$(basename "$b")"
done
install -D -m 0644 README.md "$DESTDIR$PREFIX/share/doc/omnid/README.md"
install -d -m 0750 "$DESTDIR/etc/omnid"
if [ ! -e "$DESTDIR/etc/omni.conf" ]; then
  install -D -m 0640 etc/omni.conf "$DESTDIR/etc/omni.conf"
fi
# On the live system: the users, /run/omnid, and group omnid owns the config (the .deb's
# postinst does the same).
if [ -z "$DESTDIR" ]; then
  command -v systemd-sysusers >/dev/null && systemd-sysusers omnid.conf || true
  command -v systemd-tmpfiles >/dev/null && systemd-tmpfiles --create omnid.conf || true
  if getent group omnid >/dev/null; then
    chown root:omnid /etc/omni.conf /etc/omnid
  fi
fi
