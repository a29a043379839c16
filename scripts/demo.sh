#!/usr/bin/env bash
# The README's first command. Installs what is missing, builds, starts the local simulator
# (omni-sim --answer echo) and omnid on the virtual board, speaks a question into it through a
# push-to-talk turn (omnid ctl press/release), and leaves the spoken answer as a WAV file; then
# one hands-free (vad) turn through a simulated room with echo cancellation.
#   scripts/demo.sh             the virtual board (no hardware needed)
#   scripts/demo.sh --desktop   real microphone and speaker, space bar = the button
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
desktop=0
# omni-sim takes any non-empty key; this is not a DashScope key.
demo_key="local-demo"
[ "${1:-}" = "--desktop" ] && desktop=1

scripts/setup.sh
echo "== building"
swift build --product omnid 2>&1 | tail -1
swift build --product omni-sim 2>&1 | tail -1
bin=.build/debug
work="${DEMO_DIR:-$(pwd)/out/demo}"
mkdir -p "$work"
rm -f "$work"/answer.wav "$work"/*.log "$work"/ctl.sock

# omni-sim on a free port; it prints the port it bound.
"$bin/omni-sim" --listen 127.0.0.1:0 --answer echo --log "$work/sim.jsonl" --log-audio false >"$work/sim.out" 2>"$work/sim.log" &
sim=$!
trap 'kill $sim ${omnid:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/sim.out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/sim.out")
[ -n "$port" ] || { echo "omni-sim did not start: $(cat "$work/sim.log")" >&2; exit 1; }
echo "== omni-sim listening on 127.0.0.1:$port (answers by echoing your question)"

if [ "$desktop" = 1 ]; then
  sed 's/^backend = "none"/backend = "keyboard"/' board/usb-generic.toml > "$work/desktop-board.toml"
  cat > "$work/omni.conf" <<CONF
[service]
url = "ws://127.0.0.1:$port/api-ws/v1/realtime"
[board]
file = "$work/desktop-board.toml"
[control]
socket = "$work/ctl.sock"
CONF
  echo "== hold SPACE to talk, release to hear the answer; Ctrl+C to quit"
  DASHSCOPE_API_KEY="$demo_key" OMNID_BOARD_DIR=board "$bin/omnid" run --config "$work/omni.conf"
  exit 0
fi

# The question: espeak-ng, 16 kHz mono, after 1.5 s of silence (time to press the button).
question="$work/question.wav"
espeak-ng -w "$work/q.wav" "Hello! What is the weather like in Hangzhou today?"
sox "$work/q.wav" -r 16000 -c 1 -b 16 "$question" pad 1.5 0.5
speech=$(soxi -D "$work/q.wav")
cat > "$work/omni.conf" <<CONF
# Demo: the virtual board (control-socket button, LEDs in the log, WAV files as mic and speaker)
[service]
url = "ws://127.0.0.1:$port/api-ws/v1/realtime"
[session]
mode = "push-to-talk"
[board]
name = "virtual"
[audio]
capture = "file:$question"
playback = "file:$work/answer.wav"
[control]
socket = "$work/ctl.sock"
CONF

echo "== starting omnid on the virtual board"
start=$(date +%s.%N)
# Debug: the user's transcripts are logged at debug only (privacy); the demo shows them.
DASHSCOPE_API_KEY="$demo_key" OMNID_LOG_LEVEL=debug OMNID_BOARD_DIR=board "$bin/omnid" run --config "$work/omni.conf" 2>"$work/omnid.log" &
omnid=$!
for _ in $(seq 200); do grep -q "session ready" "$work/omnid.log" && break; sleep 0.05; done
grep -q "session ready" "$work/omnid.log" || { echo "omnid did not get ready:"; cat "$work/omnid.log"; exit 1; }
ctl() { "$bin/omnid" ctl --socket "$work/ctl.sock" "$@"; }

echo "== press (the question starts 1.5 s after omnid opened the microphone)"
ctl press >/dev/null
release_at=$(awk "BEGIN{printf \"%.3f\", $start + 1.5 + $speech + 0.4}")
while awk "BEGIN{exit !($(date +%s.%N) < $release_at)}"; do sleep 0.05; done
echo "== release"
ctl release >/dev/null
for _ in $(seq 300); do
  st=$(ctl status --json)
  case "$st" in *'"answered":1'*'"state":"ready"'*|*'"state":"ready"'*'"answered":1'*) break;; esac
  sleep 0.1
done
ctl status
kill -TERM $omnid; wait $omnid || true
omnid=
echo "== what omnid logged"
sed -e 's/^<[0-9]>//' "$work/omnid.log" | grep -E "LED state|user:|assistant:|session ready" || true
peak=$(sox "$work/answer.wav" -n stat 2>&1 | awk '/Maximum amplitude/{print $3}')
if ! awk "BEGIN{exit !($peak > 0.05)}"; then
  echo "demo FAILED: the answer file is silent (peak $peak)" >&2
  exit 1
fi

# One hands-free turn through a simulated room: vad mode streams the microphone all the time,
# the answer comes back into it through the room, and the echo canceller keeps the service's
# VAD from taking that echo for the user talking over the answer (docs/echo-cancellation.md).
echo
# A new echo canceller first plays omnid's ready sound (2.8 s) and learns the room from it: the
# question waits 3.5 s, as a user waits for the box to say it is ready (one spoken over the sound
# would be half lost to the start-up gate).
echo "== hands-free (vad) turn through a simulated room, echo cancellation on (the ready sound first)"
sox "$work/q.wav" -r 16000 -c 1 -b 16 "$work/handsfree-question.wav" pad 3.5 0.5
sed -e 's/^mode = "push-to-talk"/mode = "vad"/' \
    -e "s|^capture = .*|capture = \"file:$work/handsfree-question.wav\"|" \
    -e "s|^playback = .*|playback = \"file:$work/handsfree.wav\"|" \
    -e 's/^\[audio\]/[audio]\nroom = "delay_ms=60,gain_db=-6,rt60_ms=250,noise_db=-70,seed=3"\necho_cancel = "auto"/' \
    "$work/omni.conf" > "$work/handsfree.conf"
before=$(grep -c '"input_audio_buffer.speech_started"' "$work/sim.jsonl" || true)
DASHSCOPE_API_KEY="$demo_key" OMNID_LOG_LEVEL=debug OMNID_BOARD_DIR=board "$bin/omnid" run --config "$work/handsfree.conf" 2>"$work/handsfree.log" &
omnid=$!
for _ in $(seq 600); do
  st=$(ctl status --json 2>/dev/null || true)
  case "$st" in *'"answered":1'*'"state":"ready"'*|*'"state":"ready"'*'"answered":1'*) break;; esac
  sleep 0.1
done
# The answer's echo has a few hundred ms to come back after the speaker drained.
sleep 1
ctl status | grep -E "^(state|turns|echo):"
kill -TERM $omnid; wait $omnid || true
omnid=
after=$(grep -c '"input_audio_buffer.speech_started"' "$work/sim.jsonl" || true)
echo "service VAD: $((after - before)) speech_started for one question (more would be the answer's echo interrupting it)"
sed -e 's/^<[0-9]>//' "$work/handsfree.log" | grep -E "echo cancellation|LED state|user:|assistant:" || true
[ $((after - before)) = 1 ] || { echo "demo FAILED: the hands-free answer interrupted itself" >&2; exit 1; }
heard=$(sed -n 's/.*user: (\([0-9.]*\) s of audio).*/\1/p' "$work/handsfree.log" | head -1)
awk "BEGIN{exit !(${heard:-0} >= $speech - 0.3)}" \
  || { echo "demo FAILED: the service heard ${heard:-no} s of the $speech s question" >&2; exit 1; }

echo
echo "The answer omnid played is in: $work/answer.wav ($(soxi -D "$work/answer.wav") s; the question was $speech s)"
echo "Listen with: aplay $work/answer.wav"
