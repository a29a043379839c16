# The scenarios (sourced by vm/test.sh). Each is a function run in a subshell with set -e; it
# fails with `fail "why"` (or any failing command); its output goes to
# .build/vm/run/scenario-NAME.log and the last line is the reason shown.

g() { vm_ssh "$@"; }
prop() { g "systemctl show omnid -p $1 --value"; }
main_pid() { g 'vmh main-pid'; }

# Waits until omnid is active with a main process, and not the one given (after a restart).
wait_active() {  # [OLD_PID] [SECS]
  local old="${1:-}" secs="${2:-60}"
  g "for i in \$(seq $((secs * 5))); do
       s=\$(systemctl show omnid -p ActiveState --value); p=\$(systemctl show omnid -p MainPID --value)
       if [ \"\$s\" = active ] && [ \"\$p\" != 0 ] && [ \"\$p\" != '$old' ]; then exit 0; fi
       sleep 0.2
     done; systemctl status omnid --no-pager | tail -5; exit 1" || fail "omnid not active again within ${secs}s"
}

# The session is up (the unit is active before that when the network is slow).
wait_session() {  # CURSOR
  g "vmh wait '$1' 60 'session ready'"
}

# One push-to-talk turn, checked from the host: question in, answer out, LEDs. Extra args go to
# check_turn.py (e.g. --voice Ethan).
turn_ok() {
  local tag="$1"; shift
  local skip
  skip=$(wc -l < "$RUN/sim.jsonl")
  g "vmh turn /root/question.wav /root/answer-$tag.wav /root/leds-$tag.log" || fail "the turn did not complete (vmh turn)"
  g "cat /root/answer-$tag.wav" > "$RUN/answer-$tag.wav"
  g "cat /root/leds-$tag.log" > "$RUN/leds-$tag.log"
  python3 "$VM_DIR/check_turn.py" --sim "$RUN/sim.jsonl" --skip "$skip" --question "$RUN/question.wav" \
    --answer "$RUN/answer-$tag.wav" --leds "$RUN/leds-$tag.log" "$@"
}

s_boot_active() {
  local st
  st="$(g 'systemctl show omnid -p ActiveState -p SubState -p Type -p NRestarts -p UnitFileState -p StatusText')"
  echo "$st"
  grep -qx 'ActiveState=active' <<<"$st" || fail "omnid is not active after boot"
  grep -qx 'Type=notify' <<<"$st" || fail "not Type=notify"
  grep -qx 'UnitFileState=enabled' <<<"$st" || fail "not enabled"
  grep -qx 'NRestarts=0' <<<"$st" || fail "restarted during boot: $(grep NRestarts <<<"$st")"
  grep -q '^StatusText=.' <<<"$st" || fail "no STATUS= from sd_notify"
  # Started by the boot transaction: its activation lies before the boot marker's uptime.
  local started booted
  started="$(prop ActiveEnterTimestampMonotonic)"
  booted="$(grep -a -o 'OMNID_VM_BOOTED [0-9.]*' "$RUN/console.log" | tail -1 | cut -d' ' -f2)"
  echo "active at $((started / 1000)) ms of uptime; boot marker at ${booted} s"
  [ "$(echo "$started / 1000000 < $booted" | bc)" = 1 ] || fail "omnid became active only after boot finished"
  g "journalctl -b -u omnid -o cat | grep -cx 'omnid: session ready'" | grep -qx 1 || fail "not exactly one 'session ready' this boot"
}

s_identity() {
  local pid status
  pid="$(main_pid)"; [ -n "$pid" ] || fail "no main PID"
  status="$(g "cat /proc/$pid/status")"
  grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' <<<"$status"
  local uid gid
  uid="$(g 'id -u omnid')"; gid="$(g 'id -g omnid')"
  grep -qP "^Uid:\t$uid\t$uid\t$uid\t$uid$" <<<"$status" || fail "not running as user omnid ($uid)"
  grep -qP "^Gid:\t$gid\t$gid\t$gid\t$gid$" <<<"$status" || fail "not running as group omnid ($gid)"
  [ "$uid" != 0 ] || fail "omnid's uid is 0"
  local groups want
  groups="$(grep '^Groups:' <<<"$status" | cut -f2 | tr ' ' '\n' | grep -v '^$' | while read -r n; do g "getent group $n | cut -d: -f1"; done | sort | xargs)"
  want="audio gpio omnid video"
  echo "supplementary groups: $groups"
  [ "$groups" = "$want" ] || fail "supplementary groups are '$groups', want '$want'"
  grep -qP '^CapEff:\t0+$' <<<"$status" || fail "has effective capabilities"
  grep -qP '^CapBnd:\t0+$' <<<"$status" || fail "capability bounding set not empty"
  grep -qP '^NoNewPrivs:\t1$' <<<"$status" || fail "NoNewPrivs not set"
  g 'ls -l /dev/gpiochip0 /dev/snd/pcmC0D1c /dev/video0'
  g 'stat -c "%U:%G %a" /dev/gpiochip0' | grep -qx 'root:gpio 660' || fail "/dev/gpiochip0 is not root:gpio 0660 (udev rule)"
  g 'stat -c "%U:%G %a" /etc/omni.conf' | tee /dev/stderr | grep -qx 'root:omnid 640' || fail "/etc/omni.conf is not 0640 root:omnid"
  g 'stat -c "%U:%G %a" /etc/omnid/api-key' | grep -qx 'root:root 600' || fail "/etc/omnid/api-key is not 0600 root:root"
  g 'stat -c "%U:%G %a" /run/omnid /run/omnid/control.sock' | tee /dev/stderr | xargs | grep -qx 'omnid:omnid-ctl 2750 omnid:omnid-ctl 660' \
    || fail "/run/omnid or its socket are not omnid:omnid-ctl 2750 / 0660"
  g "cat /proc/$pid/limits" | grep -E 'core file|locked memory|realtime priority'
  g "cat /proc/$pid/limits" | grep -qE '^Max core file size +0 +0' || fail "core dumps not off (LimitCORE=0)"
}

s_memlock_sched() {
  local pid
  pid="$(main_pid)"; [ -n "$pid" ] || fail "no main PID"
  g "grep -E '^Vm(Lck|RSS|HWM|Size)' /proc/$pid/status"
  g "ps -L -o tid,cls,rtprio,comm -p $pid"
  local lck
  lck="$(g "sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$pid/status")"
  [ "${lck:-0}" -gt 0 ] || fail "VmLck is 0: mlockall did not take (README: memory locked for the audio thread)"
  g "ps -L -o cls=,rtprio=,comm= -p $pid" | grep -E 'omni-audio$' | grep -qE '^ *FF +70 ' \
    || fail "the omni-audio thread is not SCHED_FIFO priority 70: $(g "ps -L -o cls=,rtprio=,comm= -p $pid" | grep omni-audio)"
  if g "journalctl -b -u omnid -o cat | grep -E 'mlockall failed|SCHED_FIFO'"; then fail "omnid warned about memory locking or real-time scheduling"; fi
}

s_security_score() {
  local out level
  out="$(g 'systemd-analyze security omnid.service --no-pager')"
  echo "$out" | tail -3
  level="$(sed -n 's/.*Overall exposure level for omnid.service: \([0-9.]*\).*/\1/p' <<<"$out")"
  [ -n "$level" ] || fail "no exposure level in systemd-analyze's output"
  [ "$(echo "$level <= 2.0" | bc)" = 1 ] || fail "exposure $level > 2.0"
  echo "exposure $level"
}

s_press_turn() {
  turn_ok press
}

run_scenarios() {
  scenario boot-active s_boot_active
  scenario identity s_identity
  scenario memlock-sched s_memlock_sched
  scenario security-score s_security_score
  scenario press-turn s_press_turn
}
