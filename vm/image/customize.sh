#!/usr/bin/env bash
# mmdebstrap --customize-hook: makes the bare Debian root a test board. $1 = the root; runs on
# the host. Changing this file makes a new image.
#   $2 = gpio-sim.ko, $3 = KVER, $4 = the ssh public key root accepts
set -euo pipefail
root="$1" ko="$2" kver="$3" pub="$4"
here="$(cd "$(dirname "$0")" && pwd)"

echo omnid-vm > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 omnid-vm\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 rw,noatime 0 1' > "$root/etc/fstab"
# No password logins; the host drives the guest over ssh with this image's key.
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$pub" "$root/root/.ssh/authorized_keys"
cat > "$root/etc/ssh/sshd_config.d/omnid-vm.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
SSHD

# Network: qemu user-mode networking, a static address (no DHCP wait, no networkd: a oneshot,
# vm/image/omnid-vm-net). Nothing outside the VM is reachable but the forwards the host sets up
# (restrict=on); no DNS.
install -D -m 0755 "$here/omnid-vm-net" "$root/usr/local/sbin/omnid-vm-net"
install -D -m 0644 "$here/omnid-vm-net.service" "$root/etc/systemd/system/omnid-vm-net.service"
chroot "$root" systemctl enable omnid-vm-net.service ssh.service >/dev/null 2>&1
chroot "$root" systemctl disable systemd-networkd.service systemd-networkd.socket >/dev/null 2>&1 || true
# Nothing that would reach out or run work in the background during a test.
# Nor what this board has no use for and a TCG boot spends seconds on: networkd (above), module
# loads for a display, fuse, device-mapper, loop devices and EFI.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer \
         systemd-networkd-wait-online.service getty@tty1.service \
         systemd-networkd.service systemd-networkd.socket systemd-network-generator.service \
         modprobe@drm.service modprobe@fuse.service modprobe@dm_mod.service modprobe@loop.service \
         modprobe@efi_pstore.service sys-fs-fuse-connections.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# A small initramfs: the root is ext4 on virtio-blk, nothing else is needed to mount it.
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k "$kver" >/dev/null
# Journal kept in memory only; a quiet console.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nForwardToConsole=no\n' > "$root/etc/systemd/journald.conf.d/vm.conf"

# The drivers: snd-aloop (card "Loopback"), vivid (a V4L2 camera: one capture node with one
# input of type webcam, which lists discrete frame sizes like a UVC camera), gpio-sim (built out
# of tree).
install -D -m 0644 "$ko" "$root/lib/modules/$kver/extra/gpio-sim.ko"
chroot "$root" depmod -a "$kver"
printf 'snd-aloop\nvivid\ngpio-sim\n' > "$root/etc/modules-load.d/omnid-vm.conf"
cat > "$root/etc/modprobe.d/omnid-vm.conf" <<'MOD'
options snd-aloop index=0 id=Loopback pcm_substreams=2
options vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0
MOD
# What udev's coldplug would load for qemu's q35 machine and `-cpu max` and a board never has:
# KVM (the emulated CPU offers SVM), x86 crypto and checksum accelerators, the AHCI controller
# (no disk on it), the chipset's TCO watchdog, SMBus, LPC and PC speaker. Under TCG each module
# load costs a boot tenths of a second. ext4's crc32c and what the test uses are not in the list.
printf 'blacklist %s\n' kvm_amd kvm_intel kvm ccp irqbypass crct10dif_pclmul crc32_pclmul ghash_clmulni_intel \
  sha512_ssse3 sha256_ssse3 sha1_ssse3 aesni_intel ahci iTCO_wdt intel_pmc_bxt pcspkr i2c_i801 lpc_ich serio_raw \
  > "$root/etc/modprobe.d/omnid-vm-blacklist.conf"
# The gpio-sim chip: one bank of 8 named lines, made through configfs at boot (the board file
# board/virtual-vm.toml names them).
install -D -m 0755 "$here/gpio-sim-setup" "$root/usr/local/sbin/omnid-vm-gpio-sim"
install -D -m 0644 "$here/omnid-vm-gpio-sim.service" "$root/etc/systemd/system/omnid-vm-gpio-sim.service"
chroot "$root" systemctl enable omnid-vm-gpio-sim.service >/dev/null 2>&1
# Tells the host on the serial console that the guest is up (the host waits for this line).
install -D -m 0644 "$here/omnid-vm-booted.service" "$root/etc/systemd/system/omnid-vm-booted.service"
chroot "$root" systemctl enable omnid-vm-booted.service >/dev/null 2>&1
