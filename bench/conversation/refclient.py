"""Reference client: the official DashScope Python SDK's manual-mode (push-to-talk) sample,
`manual_dash.py` from the Qwen-Omni-Realtime guide, with its devices replaced by real-time
paced stand-ins so it can run here and be compared with omnid.

What it keeps from the sample: `OmniRealtimeConversation` unchanged (only `url` and `api_key`
are given), the same `update_session(...)` call (audio+text out, voice Cherry, no turn
detection, gummy-realtime-v1 transcription, instructions), 3200-byte (100 ms) appends, then
`commit()` + `create_response()` and waiting for `response.done` per turn.

What it changes, and why:
- Microphone: a thread-free "pyaudio-like" source reading the conversation WAV at real-time
  pace: `read(3200)` blocks until those 100 ms have been "recorded" (an absolute-deadline
  clock from the moment the microphone is opened). The sample records into memory and sends
  after Enter; here the chunks are appended as they are read while the button is "held", as
  the SDK 2.x example and the demo repo's run_without_server_vad.py do (protocol doc §6.3).
- Button: the press/release schedule of the plan (on the 100 ms grid of the microphone).
- Speaker: the sample writes to a pyaudio stream inside the event callback. Here the callback
  queues the Base64 deltas and a player thread (like the demo repo's B64PCMPlayer) decodes them
  and writes 100 ms chunks into a sink that plays at 24 kHz real-time pace, modelled like
  omnid's file-backed device: running from the start in 20 ms periods, audio handed over while
  idle starts at the next period boundary; a write blocks while more than 200 ms is queued.
  What it "plays" is appended to a WAV file (answers back to back, no silence between them).

Trace (JSON Lines, CLOCK_MONOTONIC seconds): connect, session_ready, press/release/commit_sent,
first_delta/response_done per turn, first_sample/last_sample per turn (when the sink starts /
finishes playing that turn's audio), answer byte counts.

Protocol with the driver: prints "READY" when the session is configured, "DONE" after the last
answer has played, then waits for a line on stdin before ending the session and exiting (so the
driver can read /proc/PID while the process is still whole).
"""

import argparse
import base64
import json
import queue
import sys
import threading
import time
import wave

from dashscope.audio.qwen_omni import MultiModality, OmniRealtimeCallback, OmniRealtimeConversation

MODEL = "qwen3-omni-flash-realtime"


def now():
    return time.monotonic()


class Trace:
    def __init__(self, path):
        self.f = open(path, "w")
        self.lock = threading.Lock()

    def __call__(self, kind, **fields):
        line = json.dumps({"t": now(), "kind": kind, **fields})
        with self.lock:
            self.f.write(line + "\n")

    def close(self):
        with self.lock:
            self.f.close()


class PacedMicrophone:
    """16 kHz mono s16 PCM from a WAV, released at real-time pace (silence after its end)."""

    def __init__(self, path):
        with wave.open(path, "rb") as w:
            assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
            self.pcm = w.readframes(w.getnframes())
        self.pos = 0
        self.t0 = None

    def open(self):
        self.t0 = now()

    def skip_to(self, sample):
        """Drops the signal up to `sample` (recording starts there), once it has been 'recorded'."""
        d = self.t0 + sample / 16000.0 - now()
        if d > 0:
            time.sleep(d)
        self.pos = 2 * sample

    def read(self, nbytes):
        """Blocks until the chunk's last sample has been 'recorded'."""
        end = self.pos + nbytes
        deadline = self.t0 + end / 32000.0
        d = deadline - now()
        if d > 0:
            time.sleep(d)
        chunk = self.pcm[self.pos:end]
        self.pos = end
        return chunk + bytes(nbytes - len(chunk))


class PacedSink:
    """A 24 kHz mono s16 'sound card' modelled like omnid's file-backed device: it starts when
    opened and plays 20 ms periods on a free-running clock; audio handed over while it is idle
    starts playing at the next period boundary, later audio queues behind it. write() blocks
    while more than `buffer_ms` is queued (an ALSA/PortAudio-style blocking write)."""

    RATE = 24000
    PERIOD_S = 0.020

    def __init__(self, path, buffer_ms=200):
        self.w = wave.open(path, "wb")
        self.w.setnchannels(1)
        self.w.setsampwidth(2)
        self.w.setframerate(self.RATE)
        self.buffer_s = buffer_ms / 1000.0
        self.opened = now()
        self.play_end = self.opened   # when everything written so far has played
        self.samples_total = 0

    def write(self, pcm):
        """Returns when this write's first sample plays (or played)."""
        t = now()
        if t >= self.play_end:  # idle (or ran dry): the next period boundary
            k = -(-(t - self.opened) // self.PERIOD_S)
            self.play_end = self.opened + k * self.PERIOD_S
        first = self.play_end
        self.w.writeframes(pcm)
        n = len(pcm) // 2
        self.play_end += n / self.RATE
        self.samples_total += n
        d = self.play_end - self.buffer_s - now()
        if d > 0:
            time.sleep(d)
        return first

    def drained_at(self):
        return self.play_end

    def close(self):
        self.w.close()


class Player(threading.Thread):
    """Decodes queued Base64 deltas and plays them in 100 ms chunks (B64PCMPlayer-style)."""

    CHUNK = 4800  # 100 ms at 24 kHz s16

    def __init__(self, sink, trace):
        super().__init__(daemon=True)
        self.sink, self.trace = sink, trace
        self.q = queue.Queue()
        self.played = {}          # turn → samples played
        self.first_sample = {}
        self.sample_ranges = {}   # turn → [first, last+1) in the sink file
        self.error = None

    def run(self):
        try:
            while True:
                item = self.q.get()
                if item is None:
                    return
                turn, b64 = item
                pcm = base64.b64decode(b64)
                for i in range(0, len(pcm), self.CHUNK):
                    chunk = pcm[i:i + self.CHUNK]
                    offset = self.sink.samples_total
                    first = self.sink.write(chunk)
                    if turn not in self.first_sample:
                        self.first_sample[turn] = first
                        self.sample_ranges[turn] = [offset, offset]
                        self.trace("first_sample", turn=turn, at=first, sink_offset=offset)
                    self.sample_ranges[turn][1] = offset + len(chunk) // 2
                    self.played[turn] = self.played.get(turn, 0) + len(chunk) // 2
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


class Callback(OmniRealtimeCallback):
    def __init__(self, trace, player):
        self.trace, self.player = trace, player
        self.turn = -1
        self.session_updated = threading.Event()
        self.response_done = threading.Event()
        self.first_delta = {}
        self.answer_bytes = {}
        self.status = {}
        self.errors = []
        self.closed = threading.Event()

    def on_open(self):
        self.trace("ws_open")

    def on_close(self, code, msg):
        self.trace("ws_close", code=code)
        self.closed.set()

    def on_event(self, message):
        t = message.get("type")
        if t == "session.updated":
            self.session_updated.set()
        elif t == "response.audio.delta":
            turn = self.turn
            if turn not in self.first_delta:
                self.first_delta[turn] = now()
                self.trace("first_delta", turn=turn)
            delta = message["delta"]
            self.answer_bytes[turn] = self.answer_bytes.get(turn, 0) + len(base64.b64decode(delta))
            if self.fault == "drop-delta" and turn == 1 and not getattr(self, "dropped", False):
                self.dropped = True
                return
            self.player.q.put((turn, delta))
        elif t == "response.done":
            self.status[self.turn] = message["response"]["status"]
            self.trace("response_done", turn=self.turn, status=self.status[self.turn],
                       answer_bytes=self.answer_bytes.get(self.turn, 0))
            self.response_done.set()
        elif t == "error":
            self.errors.append(message)
            self.trace("error", error=message.get("error"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="ws://HOST:PORT/api-ws/v1/realtime (the SDK appends ?model=)")
    ap.add_argument("--mic", required=True, help="16 kHz mono WAV: the conversation's microphone")
    ap.add_argument("--plan", required=True, help="JSON with press/release times (s on the mic timeline)")
    ap.add_argument("--trace", required=True)
    ap.add_argument("--sink", required=True, help="WAV of what was played")
    ap.add_argument("--api-key", default="sk-bench")
    ap.add_argument("--answer-timeout", type=float, default=30.0)
    ap.add_argument("--fault", default="", help="misbehave, to test the driver's checks: drop-delta (one audio "
                    "delta of turn 1 is not played), skip-turn (turn 1 is not committed)")
    args = ap.parse_args()

    plan = json.load(open(args.plan))
    trace = Trace(args.trace)
    sink = PacedSink(args.sink)
    player = Player(sink, trace)
    player.start()
    cb = Callback(trace, player)
    cb.fault = args.fault

    trace("start")
    conv = OmniRealtimeConversation(model=MODEL, callback=cb, url=args.url, api_key=args.api_key)
    conv.connect()
    trace("connected")
    conv.update_session(output_modalities=[MultiModality.AUDIO, MultiModality.TEXT], voice="Cherry",
                        enable_turn_detection=False, input_audio_transcription_model="gummy-realtime-v1",
                        instructions=plan["instructions"])
    if not cb.session_updated.wait(10):
        sys.exit("refclient: no session.updated within 10 s")
    trace("session_ready")
    print("READY", flush=True)

    mic = PacedMicrophone(args.mic)
    mic.open()
    trace("mic_open", t0=mic.t0)
    presses = plan["press"]
    phases = plan["phase"]
    chunks = round(plan["window"] / 0.1)
    for turn, (p, ph) in enumerate(zip(presses, phases)):
        # The button goes down at press + phase on the microphone's timeline: recording starts
        # there (the sample's `mic` stream is read from the key press on), 100 ms per append.
        start = round((p + ph) * 16000)
        mic.skip_to(start)
        cb.turn = turn
        cb.response_done.clear()
        trace("press", turn=turn, scheduled=mic.t0 + start / 16000.0)
        appended = 0
        for _ in range(chunks):
            data = mic.read(3200)
            conv.append_audio(base64.b64encode(data).decode("ascii"))
            appended += len(data)
        r = mic.t0 + mic.pos / 32000.0
        if args.fault == "skip-turn" and turn == 1:
            conv.clear_appended_audio()
            trace("skipped", turn=turn)
            continue
        trace("release", turn=turn, scheduled=r, appended=appended)
        conv.commit()
        conv.create_response()
        trace("commit_sent", turn=turn)
        if not cb.response_done.wait(args.answer_timeout):
            sys.exit(f"refclient: turn {turn}: no response.done within {args.answer_timeout} s")
        if cb.status.get(turn) != "completed":
            sys.exit(f"refclient: turn {turn}: response status {cb.status.get(turn)!r}")
        if player.error:
            raise player.error

    # Let the last answer play out.
    deadline = now() + args.answer_timeout
    while now() < deadline:
        last = len(presses) - 1
        if player.q.empty() and player.played.get(last, 0) * 2 >= cb.answer_bytes.get(last, 1):
            if now() >= sink.drained_at():
                break
        time.sleep(0.02)
    else:
        sys.exit("refclient: the last answer did not finish playing")
    for turn in range(len(presses)):
        trace("played", turn=turn, samples=player.played.get(turn, 0),
              received_bytes=cb.answer_bytes.get(turn, 0), first=player.first_sample.get(turn),
              sink_range=player.sample_ranges.get(turn))
    trace("done", errors=len(cb.errors))
    print("DONE", flush=True)
    sys.stdin.readline()
    try:
        conv.end_session(timeout=5)
    except Exception as e:  # noqa: BLE001 - the figures are taken; just note it
        trace("end_session_failed", error=str(e))
        conv.close()
    player.q.put(None)
    player.join(2)
    sink.close()
    trace.close()


if __name__ == "__main__":
    main()
