#!/usr/bin/env bash
# Press → first camera frame on the wire, on this machine: release omnid on the virtual board with
# `[camera] device = "file:DIR"` (one 640x480 JPEG, passed through) against omni-sim
# (--answer describe), N push-to-talk turns through the control socket. Each turn's figure is
# omnid's own "camera: first frame sent X ms after the turn opened" line (the machine entering
# listening on the press → the frame handed to the WebSocket); omni-sim's log confirms that each
# turn's images arrived. Prints p50, p90, p99 and the maximum (README.md here).
#   bench/camera/latency.sh [TURNS]       (default 30)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
turns=${1:-30}
swift build -c release --static-swift-stdlib --product omnid --scratch-path .build-release >/dev/null
swift build -c release --static-swift-stdlib --product omni-sim --scratch-path .build-release >/dev/null
bin=.build-release/release
work="$(mktemp -d)"
trap 'kill ${sim:-} ${omnid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/cam"
cp Tests/Fixtures/camera/red-640x480.jpg "$work/cam/"
sox -n -r 16000 -c 1 -b 16 "$work/mic.wav" trim 0 1

"$bin/omni-sim" --listen 127.0.0.1:0 --answer describe --speed 8 --log "$work/sim.jsonl" --log-audio false \
  >"$work/sim.out" 2>"$work/sim.log" &
sim=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sim.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/sim.out")
[ -n "$port" ] || { echo "omni-sim did not start: $(cat "$work/sim.log")" >&2; exit 1; }
cat > "$work/omni.conf" <<CONF
[service]
url = "ws://127.0.0.1:$port/api-ws/v1/realtime"
[session]
mode = "push-to-talk"
[board]
name = "virtual"
[audio]
capture = "file:$work/mic.wav"
playback = "file:$work/answer.wav"
[camera]
device = "file:$work/cam"
[control]
socket = "$work/ctl.sock"
[log]
level = "info"
CONF
DASHSCOPE_API_KEY=bench OMNID_BOARD_DIR=board "$bin/omnid" run --config "$work/omni.conf" 2>"$work/omnid.log" &
omnid=$!
for _ in $(seq 200); do grep -q "session ready" "$work/omnid.log" && break; sleep 0.05; done
grep -q "session ready" "$work/omnid.log" || { echo "omnid did not get ready:" >&2; cat "$work/omnid.log" >&2; exit 1; }
ctl() { "$bin/omnid" ctl --socket "$work/ctl.sock" "$@"; }
for i in $(seq "$turns"); do
  ctl press >/dev/null
  sleep 1.2
  ctl release >/dev/null
  for _ in $(seq 200); do
    case "$(ctl status --json)" in *"\"answered\":$i,"*'"state":"ready"'*|*'"state":"ready"'*"\"answered\":$i,"*|*'"state":"ready"'*"\"answered\":$i}"*) break;; esac
    sleep 0.05
  done
done
kill -TERM $omnid; wait $omnid || true
omnid=
sent=$(grep -c "camera: first frame sent" "$work/omnid.log" || true)
images=$(grep -c '"_sim.image"' "$work/sim.jsonl" || true)
answers=$(grep '"type":"response.audio_transcript.done"' "$work/sim.jsonl" | grep -c '"transcript":"I see [^"]*×' || true)
echo "press → first frame on the wire, file: camera (640x480 JPEG passed through), release build, $turns turns"
echo "turns with a first frame: $sent; images omni-sim accepted: $images; answers naming an image: $answers"
[ "$sent" = "$turns" ] || { echo "latency: $sent of $turns turns logged a first frame" >&2; grep -E "camera|error" "$work/omnid.log" | tail -20 >&2; exit 1; }
sed -n 's/.*camera: first frame sent \([0-9.]*\) ms after the turn opened (captured at +\([0-9.]*\) ms, encoded in \([0-9.]*\) ms.*/\1 \2 \3/p' \
  "$work/omnid.log" | sort -n | awk '
  { v[NR] = $1; cap += $2; enc += $3 }
  function q(p) { i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
  END { printf "ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (mean: captured at +%.1f, encoded in %.1f)\n", q(0.5), q(0.9), q(0.99), v[NR], cap / NR, enc / NR }'
