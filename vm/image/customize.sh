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

# Network: qemu user-mode networking, static (no DHCP wait). Nothing outside the VM is reachable
# but the forwards the host sets up (restrict=on); no DNS.
cat > "$root/etc/systemd/network/10-vm.network" <<'NET'
[Match]
Name=en* eth*
[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
NET
chroot "$root" systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1
# Nothing that would reach out or run work in the background during a test.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer \
         systemd-networkd-wait-online.service getty@tty1.service; do
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
# The gpio-sim chip: one bank of 8 named lines, made through configfs at boot (the board file
# board/virtual-vm.toml names them).
install -D -m 0755 "$here/gpio-sim-setup" "$root/usr/local/sbin/omnid-vm-gpio-sim"
install -D -m 0644 "$here/omnid-vm-gpio-sim.service" "$root/etc/systemd/system/omnid-vm-gpio-sim.service"
chroot "$root" systemctl enable omnid-vm-gpio-sim.service >/dev/null 2>&1
# Tells the host on the serial console that the guest is up (the host waits for this line).
install -D -m 0644 "$here/omnid-vm-booted.service" "$root/etc/systemd/system/omnid-vm-booted.service"
chroot "$root" systemctl enable omnid-vm-booted.service >/dev/null 2>&1
