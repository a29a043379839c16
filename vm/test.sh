#!/usr/bin/env bash
# `make vm-test`: the virtual board. Builds the .deb (scripts/deb.sh, lintian included), the VM
# image once (vm/image.sh, cached under /var/cache/omnid-vm), boots Debian 12's kernel and
# systemd under qemu with snd-aloop, vivid and gpio-sim, installs the package with apt, starts
# omni-sim on the host and runs every scenario against the real unit. One line per scenario
# (PASS name / FAIL name: why), then "N passed, N failed"; exit status 1 on any failure.
#   vm/test.sh [SCENARIO...]    only these scenarios (boot and install always run)
# Environment: OMNID_VM_CACHE (image cache), OMNID_VM_ACCEL=kvm|tcg, OMNID_VM_KEEP=1 (leave the
# VM running at the end and print how to reach it), OMNID_VM_SIM=PATH (an omni-sim built already
# instead of a release build; CI passes make test's), OMNID_VM_BOOT_TIMEOUT (seconds per boot, 480).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$VM_DIR/qemu.sh"
cd "$REPO_DIR"
export PATH="/opt/swift/usr/bin:$PATH"
RUN="$REPO_DIR/.build/vm/run"
T0=$(date +%s)
only=("$@")
rm -rf "$RUN"
mkdir -p "$RUN"

vm_need_host_packages qemu-system-x86 qemu-utils mmdebstrap socat espeak-ng sox openssh-client e2fsprogs python3 bc

# ---------------------------------------------------------------- the package, omni-sim, image
vm_log "building the .deb (scripts/deb.sh)"
DEB="$(OUT_DIR=.build/vm/deb scripts/deb.sh 2>"$RUN/deb.log" | tail -1)" || { cat "$RUN/deb.log" >&2; vm_die "scripts/deb.sh failed"; }
[ -s "$DEB" ] || vm_die "scripts/deb.sh made no package"
if [ -n "${OMNID_VM_SIM:-}" ]; then
  # An omni-sim built already (CI: make test's debug build); it is the harness, not the package.
  [ -x "$OMNID_VM_SIM" ] || vm_die "OMNID_VM_SIM=$OMNID_VM_SIM is not an executable"
  SIM_BIN="$OMNID_VM_SIM"
else
  vm_log "building omni-sim for the host"
  swift build -c release --static-swift-stdlib --product omni-sim --scratch-path .build-release >"$RUN/sim-build.log" 2>&1 \
    || { tail -30 "$RUN/sim-build.log" >&2; vm_die "omni-sim build failed"; }
  SIM_BIN=.build-release/release/omni-sim
fi
gcc -O2 -static -Wall -Wextra -Werror -o "$RUN/ledsample" vm/guest/ledsample.c || vm_die "could not build vm/guest/ledsample.c"
if ((${#only[@]})) && printf '%s\n' "${only[@]}" | grep -qx camera-bench; then
  swift build -c release --static-swift-stdlib --product omni-bench-camera --scratch-path .build-release >"$RUN/bench-build.log" 2>&1 \
    || { tail -30 "$RUN/bench-build.log" >&2; vm_die "omni-bench-camera build failed"; }
  cp .build-release/release/omni-bench-camera "$RUN/omni-bench-camera"
fi
T_BUILD=$(date +%s)
mapfile -t DEPS < <(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
IMG="$(vm/image.sh "${DEPS[@]}")"
# Images of other inputs not used for a week go (each is ~850 MiB).
touch "$IMG/last-used"
for d in "$VM_CACHE"/image-*; do
  [ "$d" = "$IMG" ] || [ -n "$(find "$d" -maxdepth 1 -name last-used -mtime -7 2>/dev/null)" ] || rm -rf "$d"
done
T_IMAGE=$(date +%s)

# ---------------------------------------------------------------- omni-sim on the host
KEY="vmkey-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
printf '%s' "$KEY" > "$RUN/api-key"
# omni-sim's pid is kept in a file: a scenario (a subshell) may restart it with another answer.
start_sim() {  # [ANSWER [LOG]]: on SIM_PORT once it is known; the event log is sim.jsonl unless given
  : > "$RUN/sim.out"
  "$SIM_BIN" --listen 127.0.0.1:${SIM_PORT:-0} --api-key "$KEY" --answer "${1:-echo}" --log "$RUN/${2:-sim.jsonl}" --log-audio true \
    --response-delay-ms 300 --idle-timeout-s 0 >"$RUN/sim.out" 2>>"$RUN/sim.log" &
  echo $! > "$RUN/sim.pid"
  local i port
  for i in $(seq 100); do grep -q "listening on" "$RUN/sim.out" && break; sleep 0.05; done
  port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$RUN/sim.out")"
  [ -n "$port" ] || vm_die "omni-sim did not start: $(cat "$RUN/sim.log")"
  SIM_PORT="$port"
}
stop_sim() {
  local pid
  pid="$(cat "$RUN/sim.pid" 2>/dev/null)" || return 0
  kill "$pid" 2>/dev/null || true
  # Gone, or a zombie (started by another shell than the one stopping it): its socket is closed.
  local i
  for i in $(seq 200); do
    [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
    sleep 0.05
  done
  rm -f "$RUN/sim.pid"
}
start_sim
cleanup() {
  local rc=$?
  if [ "${OMNID_VM_KEEP:-0}" = 1 ] && [ -n "${VM_QEMU_PID:-}" ]; then
    vm_log "VM left running (qemu pid $VM_QEMU_PID, omni-sim pid $(cat "$RUN/sim.pid" 2>/dev/null)): ssh -i $VM_KEY -p $VM_SSH_PORT root@127.0.0.1"
  else
    vm_stop || true
    stop_sim
  fi
  exit $rc
}
trap cleanup EXIT

# The question: espeak-ng, 16 kHz mono.
espeak-ng -w "$RUN/q.wav" "What is the weather like in Hangzhou today?"
sox "$RUN/q.wav" -r 16000 -c 1 -b 16 "$RUN/question.wav" pad 0.2 0.2

# ---------------------------------------------------------------- boot and install
T_VM=$(date +%s.%N)
vm_boot "$IMG" "$RUN" "$SIM_PORT"
vm_wait_booted 1
BOOT_S="$(printf '%.1f' "$(echo "$VM_BOOTED_AT - $VM_BOOT_START" | bc)")"
vm_log "guest up in ${BOOT_S} s ($VM_ACCEL_NAME); installing $(basename "$DEB")"
vm_wait_ssh
vm_ssh 'systemd-analyze; systemd-analyze critical-chain' > "$RUN/boot-1.txt" 2>&1 || true
{ vm_put vm/guest/vmh /usr/local/bin/vmh &&
  vm_put "$RUN/ledsample" /usr/local/bin/ledsample &&
  vm_put "$RUN/question.wav" /root/question.wav &&
  vm_put "$DEB" "/root/$(basename "$DEB")" &&
  vm_ssh_in 'install -d -m 0755 /etc/omnid && umask 077 && cat > /etc/omnid/api-key && chmod 0600 /etc/omnid/api-key' < "$RUN/api-key"; } \
  || vm_die "copying files into the guest failed"
vm_log "copied in; apt-get install ./$(basename "$DEB")"
vm_ssh "chmod +x /usr/local/bin/vmh /usr/local/bin/ledsample && cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./$(basename "$DEB")" \
  >"$RUN/apt-install.log" 2>&1 || { cat "$RUN/apt-install.log" >&2; vm_die "apt install ./$(basename "$DEB") failed in the guest"; }

# The test configuration: omni-sim through the forward, the VM board.
omni_conf() {  # VOICE
  cat <<CONF
# omnid in the VM test: omni-sim on the host through qemu's forward to $VM_GUEST_SIM
[service]
url = "ws://$VM_GUEST_SIM/api-ws/v1/realtime"
allow_insecure = true
[session]
voice = "$1"
mode = "push-to-talk"
[board]
name = "virtual-vm"
[log]
level = "info"
CONF
}
vm_log "installed"
omni_conf Cherry | vm_ssh_in 'cat > /etc/omni.conf' || vm_die "writing /etc/omni.conf in the guest failed"
T_INSTALLED=$(date +%s.%N)
# Power cycle so the unit starts the way it will on a device: from boot.
vm_power_cycle
vm_wait_booted 2
BOOT2_S="$(printf '%.1f' "$(echo "$VM_BOOTED_AT - $VM_BOOT_START" | bc)")"
vm_wait_ssh
vm_ssh 'systemd-analyze; systemd-analyze critical-chain' > "$RUN/boot-2.txt" 2>&1 || true
T_READY=$(date +%s.%N)
vm_log "installed and power-cycled (off in $(printf '%.1f' "$(echo "$VM_POWERED_OFF_AT - $T_INSTALLED" | bc)") s, boot ${BOOT2_S} s); running the scenarios"

# ---------------------------------------------------------------- the scenario runner
PASSED=0 FAILED=0
fail() { echo "$*"; return 1; }
scenario() {  # NAME FUNCTION
  local name="$1" fn="$2" rc out
  if ((${#only[@]})) && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then return 0; fi
  local t=$(date +%s.%N)
  # A hang guard per scenario: the waits inside have their own timeouts; this catches the rest.
  set +e
  ( set -e; "$fn" ) >"$RUN/scenario-$name.log" 2>&1 &
  local pid=$!
  ( sleep "${SCENARIO_TIMEOUT:-300}"; echo "hung: stopped after ${SCENARIO_TIMEOUT:-300} s" >>"$RUN/scenario-$name.log"; kill -TERM "$pid" ) 2>/dev/null &
  local guard=$!
  wait "$pid"
  rc=$?
  kill "$guard" 2>/dev/null
  wait "$guard" 2>/dev/null
  set -e
  local dt
  dt="$(printf '%.1f' "$(echo "$(date +%s.%N) - $t" | bc)")"
  if [ "$rc" = 0 ]; then
    echo "PASS $name (${dt} s)"
    PASSED=$((PASSED + 1))
  else
    out="$(grep -v '^\s*$' "$RUN/scenario-$name.log" | tail -1)"
    echo "FAIL $name: ${out:-exit status $rc} (log: .build/vm/run/scenario-$name.log)"
    FAILED=$((FAILED + 1))
  fi
}

# A scenario that runs only when named on the command line (benchmarks).
scenario_named() {  # NAME FUNCTION
  ((${#only[@]})) && printf '%s\n' "${only[@]}" | grep -qx "$1" || return 0
  SCENARIO_TIMEOUT="${SCENARIO_TIMEOUT:-1800}" scenario "$@"
}

source "$VM_DIR/scenarios.sh"
run_scenarios

T_END=$(date +%s.%N)
# The VM part: from the end of the builds (the .deb, omni-sim, ledsample) to the end of the last
# scenario: the image (a cache hit after the first run), omni-sim's start, the question's WAV,
# the first boot, copying in and installing the package, the power cycle and every scenario.
# Only the final power-off (a few seconds) is outside it.
sec() { printf '%.0f' "$(echo "$1" | bc)"; }
{
  echo "boot ${BOOT_S} s, boot after the power cycle ${BOOT2_S} s ($VM_ACCEL_NAME, -smp ${OMNID_VM_SMP:-2});"\
       "builds $(sec "$T_BUILD - $T0") s, image $(sec "$T_IMAGE - $T_BUILD") s,"\
       "boot+install $(sec "$T_INSTALLED - $T_VM") s, power cycle $(sec "$T_READY - $T_INSTALLED") s, scenarios $(sec "$T_END - $T_READY") s;"\
       "VM part $(sec "$T_END - $T_BUILD") s, total $(sec "$T_END - $T0") s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RUN/times.txt"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
