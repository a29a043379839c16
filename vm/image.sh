#!/usr/bin/env bash
# Builds the test board's VM image once and caches it outside the clone:
#   $OMNID_VM_CACHE (default /var/cache/omnid-vm)/image-<hash>/
#     vmlinuz, initrd.img   Debian's bookworm kernel (linux-image-KVER) and its initramfs
#     root.img              ext4 root: systemd, ssh, alsa-utils, gpiod, omnid's runtime libraries,
#                           snd-aloop + vivid (Debian's) and gpio-sim (built out of tree) loaded at boot
#     id_ed25519            the ssh key the host drives the guest with
#     manifest              what went in (kernel, packages, sizes); downloads.txt: what was fetched
# The hash covers vm/image/*, vm/image.sh, vm/gpio-sim/*, the kernel version the apt sources
# resolve to and the extra packages (omnid's Depends). Prints the image directory.
#   vm/image.sh [EXTRA_PACKAGE...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
extra=("$@")

vm_need_host_packages mmdebstrap e2fsprogs qemu-utils
vm_resolve_kernel
hash="$( { cat "$VM_DIR/image.sh" "$VM_DIR"/image/* "$VM_DIR"/gpio-sim/*;
           echo "$KVER $KPKG_VERSION"; printf '%s\n' "${extra[@]}" | sort -u; } | sha256sum | cut -c1-16)"
img="$VM_CACHE/image-$hash"
if [ -e "$img/complete" ]; then
  echo "$img"
  exit 0
fi

mkdir -p "$VM_CACHE"
# One builder at a time per cache (CI and a developer may share a machine).
exec 9>"$VM_CACHE/.image.lock"
flock 9
if [ -e "$img/complete" ]; then echo "$img"; exit 0; fi

start=$(date +%s)
vm_log "building image $img (kernel $KVER $KPKG_VERSION); first time only"
tmp="$VM_CACHE/tmp-$hash"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp/root"' EXIT

"$VM_DIR/gpio-sim/build.sh" "$tmp" "$KVER" "$KPKG_VERSION"
ssh-keygen -q -t ed25519 -N '' -C omnid-vm -f "$tmp/id_ed25519"

pkgs="$(grep -v '^#' "$VM_DIR/image/packages" | xargs)"
pkgs="$pkgs linux-image-$KVER ${extra[*]}"
# The machine's own apt sources (deb822 or one-line), not a hard-coded mirror.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && grep -qE '^\s*(deb |Types:.*\bdeb\b)' "$f" && sources+=("$f")
done
((${#sources[@]})) || vm_die "no apt sources configured on this machine"
vm_log "mmdebstrap bookworm: $pkgs"
mmlog="$tmp/mmdebstrap.log"
if ! mmdebstrap --variant=apt --mode=root --components=main \
    --include="$(tr ' ' ',' <<<"$pkgs")" \
    --aptopt='Acquire::Languages "none"' \
    --essential-hook='echo "do_symlinks = no" > "$1/etc/kernel-img.conf"' \
    --customize-hook="\"$VM_DIR/image/customize.sh\" \"\$1\" \"$tmp/gpio-sim.ko\" \"$KVER\" \"$tmp/id_ed25519.pub\"" \
    --customize-hook="cd \"\$1/var/cache/apt/archives\" && ls -1 *.deb | sort > \"$tmp/downloads.txt\" && du -cb *.deb | tail -1 >> \"$tmp/downloads.txt\"" \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' > \"$tmp/packages.txt\"" \
    --customize-hook="cp \"\$1/boot/vmlinuz-$KVER\" \"$tmp/vmlinuz\" && cp \"\$1/boot/initrd.img-$KVER\" \"$tmp/initrd.img\"" \
    bookworm "$tmp/root" "${sources[@]}" >"$mmlog" 2>&1; then
  tail -40 "$mmlog" >&2
  vm_die "mmdebstrap failed (full log: $mmlog)"
fi
[ -s "$tmp/vmlinuz" ] && [ -s "$tmp/initrd.img" ] || vm_die "the kernel or initramfs is missing from the root"
rm -rf "$tmp/root/var/cache/apt/archives/"*.deb
size_mb=$(( $(du -sm "$tmp/root" | cut -f1) + 1024 ))
mke2fs -q -t ext4 -L omnid-root -d "$tmp/root" "$tmp/root.img" "${size_mb}M" >/dev/null || vm_die "mke2fs -d failed"
rm -rf "$tmp/root"
{
  echo "kernel: linux-image-$KVER $KPKG_VERSION"
  echo "packages: $(wc -l < "$tmp/packages.txt") installed (packages.txt)"
  echo "downloaded: $(tail -1 "$tmp/downloads.txt" | cut -f1) bytes of .debs in $(($(wc -l < "$tmp/downloads.txt") - 1)) files, plus linux-source for gpio-sim"
  echo "root.img: ${size_mb} MiB ext4 (sparse)"
  echo "built in $(( $(date +%s) - start )) s on $(date -u +%FT%TZ)"
} > "$tmp/manifest"
touch "$tmp/complete"
rm -rf "$img"
mv "$tmp" "$img"
trap - EXIT
vm_log "image ready in $(( $(date +%s) - start )) s: $img"
cat "$img/manifest" >&2
echo "$img"
