# Booting and driving the guest (sourced by vm/test.sh after lib.sh).
#   vm_boot IMG RUN SIM_PORT   start qemu in the background on a new overlay of IMG/root.img
#   vm_power_cycle             power the guest off and start a new qemu on the same overlay
#   vm_wait_booted N [TIMEOUT] until the guest has printed its Nth OMNID_VM_BOOTED on the serial
#                              console (the console log is appended to across power cycles)
#   vm_ssh CMD...              run a command in the guest as root (exit status passes through)
#   vm_put FILE DEST           copy a file into the guest
#   vm_stop                    power off (kill qemu if it does not go)
# The guest's network is qemu user-mode networking with restrict=on: it reaches nothing but the
# forwards set here. 10.0.2.100:9000 in the guest is forwarded (one socat per connection) to
# omni-sim on the host's 127.0.0.1:SIM_PORT; the host reaches the guest's sshd on 127.0.0.1:SSH_PORT.

VM_GUEST_SIM="10.0.2.100:9000"

vm_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# KVM when qemu can boot the guest's kernel with it, else TCG. /dev/kvm being there is not
# enough: on some nested hosts qemu's firmware runs but a Linux kernel never gets going. The
# verdict is kept per host kernel and qemu version ($VM_CACHE/accel-*). OMNID_VM_ACCEL=tcg|kvm
# forces one.
vm_pick_accel() {
  local img="$1"
  VM_ACCEL=(-accel tcg -cpu max)
  VM_ACCEL_NAME=tcg
  local want="${OMNID_VM_ACCEL:-auto}"
  [ "$want" = tcg ] && return 0
  if [ ! -w /dev/kvm ]; then
    [ "$want" = kvm ] && vm_die "OMNID_VM_ACCEL=kvm but /dev/kvm is not usable"
    return 0
  fi
  local verdict="$VM_CACHE/accel-$(uname -r)-$(qemu-system-x86_64 --version | head -1 | tr -c 'a-zA-Z0-9.\n' _ | cut -c1-60)"
  if [ "$want" = auto ] && [ ! -s "$verdict" ]; then
    # -arch-capabilities: some hosts' KVM refuses MSR 0x10a and qemu aborts on plain -cpu host.
    local out
    out="$(timeout 20 qemu-system-x86_64 -accel kvm -cpu host,-arch-capabilities -machine q35 -m 256 -nodefaults \
             -nographic -serial stdio -no-reboot -kernel "$img/vmlinuz" \
             -append "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" 2>&1 \
             | grep -a -m1 -o -E 'Linux version|qemu-system.*' || true)"
    if [ "$out" = "Linux version" ]; then echo kvm > "$verdict"; else
      echo "tcg (KVM probe: ${out:-the kernel printed nothing in 20 s})" > "$verdict"; fi
  fi
  if [ "$want" = kvm ] || [ "$(cut -d' ' -f1 "$verdict")" = kvm ]; then
    VM_ACCEL=(-accel kvm -cpu host,-arch-capabilities)
    VM_ACCEL_NAME=kvm
  else
    vm_log "KVM not usable for this guest here: $(cat "$verdict"); using TCG"
  fi
}

vm_boot() {
  local img="$1" run="$2" sim_port="$3"
  VM_RUN="$run"
  VM_IMG="$img"
  VM_SIM_PORT="$sim_port"
  VM_KEY="$img/id_ed25519"
  mkdir -p "$run"
  rm -f "$run/overlay.qcow2" "$run/console.log" "$run/ssh.sock"
  qemu-img create -q -f qcow2 -F raw -b "$img/root.img" "$run/overlay.qcow2"
  vm_pick_accel "$img"
  : > "$run/console.log"
  vm_start
}

# qemu on the run's overlay. Under TCG, -smp 2 runs each vCPU on a host thread of its own (MTTCG):
# a boot took 15 s instead of 23-26 s on a quiet host, and under a sustained build beside it two
# vCPUs did no worse than one (vm/README.md has the measurements).
# OMNID_VM_SMP overrides it. net.ifnames=0: the NIC keeps the kernel's name eth0, which the image's
# network unit (vm/image/omnid-vm-net.service) waits for.
vm_start() {
  local smp="${OMNID_VM_SMP:-2}"
  VM_SSH_PORT="$(vm_free_port)"
  rm -f "$VM_RUN/ssh.sock"
  qemu-system-x86_64 "${VM_ACCEL[@]}" -machine q35 -smp "$smp" -m 1024 \
    -kernel "$VM_IMG/vmlinuz" -initrd "$VM_IMG/initrd.img" \
    -append "root=/dev/vda rw net.ifnames=0 console=ttyS0,115200 quiet loglevel=4 systemd.show_status=0 panic=-1 mitigations=off cryptomgr.notests" \
    -drive "file=$VM_RUN/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$VM_SSH_PORT-:22,guestfwd=tcp:$VM_GUEST_SIM-cmd:socat - TCP:127.0.0.1:$VM_SIM_PORT" \
    -device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
    -display none -monitor none -nodefaults \
    -chardev "file,id=con,path=$VM_RUN/console.log,append=on" -serial chardev:con \
    -pidfile "$VM_RUN/qemu.pid" >>"$VM_RUN/qemu.log" 2>&1 &
  VM_QEMU_PID=$!
  VM_BOOT_START=$(date +%s.%N)
  vm_log "qemu started ($VM_ACCEL_NAME, -smp $smp, pid $VM_QEMU_PID, ssh on 127.0.0.1:$VM_SSH_PORT)"
}

# A clean power-off (systemd's shutdown: units stopped, the disk synced) and a cold start of a new
# qemu on the same disk: what a device's power cycle is. A reboot inside the same qemu took twice
# as long as a cold boot under TCG (its kernel phase 19 s instead of 4 s), hence not `reboot`.
vm_power_cycle() {
  local timeout="${1:-120}" i
  vm_ssh 'systemctl poweroff' >/dev/null 2>&1 || true
  vm_ssh_exit
  for i in $(seq $((timeout * 10))); do kill -0 "$VM_QEMU_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$VM_QEMU_PID" 2>/dev/null; then
    tail -20 "$VM_RUN/console.log" >&2
    vm_die "the guest did not power off within ${timeout}s"
  fi
  wait "$VM_QEMU_PID" 2>/dev/null || true
  VM_POWERED_OFF_AT=$(date +%s.%N)
  vm_start
}

# Waits for the Nth OMNID_VM_BOOTED line (N counts the boots of this run: the console log is
# appended to across the power cycle).
vm_wait_booted() {
  local n="${1:-1}" timeout="${2:-${OMNID_VM_BOOT_TIMEOUT:-480}}"
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if [ "$(grep -c OMNID_VM_BOOTED "$VM_RUN/console.log" 2>/dev/null)" -ge "$n" ]; then break; fi
    kill -0 "$VM_QEMU_PID" 2>/dev/null || { tail -20 "$VM_RUN/qemu.log" "$VM_RUN/console.log" >&2; vm_die "qemu exited during boot"; }
    [ "$(date +%s)" -lt "$deadline" ] || { tail -40 "$VM_RUN/console.log" >&2; vm_die "the guest did not boot within ${timeout}s"; }
    # Woken by the console file growing (inotifywait is not needed: 0.2 s granularity is plenty).
    sleep 0.2
  done
  VM_BOOTED_AT=$(date +%s.%N)
}

# The first ssh after a boot: a slow guest may still time out the banner exchange; try a few
# times before giving up.
vm_wait_ssh() {
  local i
  for i in 1 2 3 4 5; do
    vm_ssh true 2>/dev/null && return 0
    vm_ssh_exit
    sleep 2
  done
  vm_ssh true || vm_die "cannot reach the guest's sshd on 127.0.0.1:$VM_SSH_PORT"
}

vm_ssh_exit() {  # closes the shared connection (ControlMaster)
  local opts
  mapfile -t opts < <(vm_ssh_opts)
  ssh "${opts[@]}" -O exit root@127.0.0.1 >/dev/null 2>&1 || true
}

vm_ssh_opts() {
  printf '%s\n' -F /dev/null -i "$VM_KEY" -p "$VM_SSH_PORT" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=20 \
    -o ControlMaster=auto -o "ControlPath=$VM_RUN/ssh.sock" -o ControlPersist=600 -o ServerAliveInterval=5
}

vm_ssh() {
  local opts
  mapfile -t opts < <(vm_ssh_opts)
  ssh "${opts[@]}" root@127.0.0.1 "$@" </dev/null
}

# Like vm_ssh, with the command's stdin from ours.
vm_ssh_in() {
  local opts
  mapfile -t opts < <(vm_ssh_opts)
  ssh "${opts[@]}" root@127.0.0.1 "$@"
}

vm_put() {
  vm_ssh_in "cat > '$2'" < "$1"
}

vm_stop() {
  [ -n "${VM_QEMU_PID:-}" ] || return 0
  if kill -0 "$VM_QEMU_PID" 2>/dev/null; then
    vm_ssh 'systemctl poweroff' >/dev/null 2>&1 || true
    local i
    for i in $(seq 50); do kill -0 "$VM_QEMU_PID" 2>/dev/null || break; sleep 0.2; done
    kill "$VM_QEMU_PID" 2>/dev/null || true
  fi
  vm_ssh_exit
  wait "$VM_QEMU_PID" 2>/dev/null || true
  VM_QEMU_PID=
}
