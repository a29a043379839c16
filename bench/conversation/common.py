"""Shared helpers of the conversation benchmark: WAV files, the conversation plan, omni-sim,
clock alignment with omni-sim's log, /proc readings and percentiles.

Standard library only, so the driver runs on any Python 3.9+; the DashScope SDK is needed by
refclient.py alone.
"""

import array
import base64
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import wave

MODEL = "qwen3-omni-flash-realtime"
WS_PATH = "/api-ws/v1/realtime"
INSTRUCTIONS = "You are Xiaoyun, a personal assistant. Answer accurately and kindly."
QUESTION_TEXT = "What is the weather in Hangzhou today?"
SILENCE_THRESHOLD = 300      # |sample| above this (of 32767, about -40 dBFS) counts as sound
SPAN_TOLERANCE_S = 0.040     # echoed answer's sound span vs the question's


class BenchError(Exception):
    """A client misbehaved or the setup failed: the run stops and prints this, no numbers."""


def now():
    """CLOCK_MONOTONIC seconds: the one clock every trace here uses (omnid's and omni-sim's
    logs are aligned to it, see SimProcess.clock_offset)."""
    return time.monotonic()


# --- WAV ---------------------------------------------------------------------------------------

def read_wav(path):
    """(rate, channels, samples of the first channel as array('h'))."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise BenchError(f"{path}: not 16-bit PCM")
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        raw = w.readframes(n)
    a = array.array("h")
    a.frombytes(raw[: len(raw) // 2 * 2])
    if sys.byteorder != "little":
        a.byteswap()
    if ch > 1:
        a = a[0::ch]
    return rate, ch, a


def write_wav(path, rate, samples):
    a = array.array("h", samples)
    if sys.byteorder != "little":
        a.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(a.tobytes())


def sound_span(samples, rate, start=0, end=None, threshold=SILENCE_THRESHOLD):
    """(first, last) sample index (absolute) whose magnitude exceeds `threshold` in
    samples[start:end], or None when that stretch is silent."""
    end = len(samples) if end is None else min(end, len(samples))
    first = None
    for i in range(start, end):
        if samples[i] > threshold or samples[i] < -threshold:
            first = i
            break
    if first is None:
        return None
    for i in range(end - 1, first - 1, -1):
        if samples[i] > threshold or samples[i] < -threshold:
            return first, i
    return first, first


def sound_clusters(samples, rate, min_gap_s, threshold=SILENCE_THRESHOLD):
    """Stretches of sound separated by at least `min_gap_s` of silence: [(first, last)]."""
    gap = int(min_gap_s * rate)
    out = []
    first = last = None
    # array scans in Python are slow; walk in blocks and skip silent blocks quickly.
    block = max(1, rate // 100)
    n = len(samples)
    i = 0
    while i < n:
        chunk = samples[i:i + block]
        if max(chunk) <= threshold and min(chunk) >= -threshold:
            i += block
            continue
        for j, x in enumerate(chunk):
            if x > threshold or x < -threshold:
                k = i + j
                if last is not None and k - last > gap:
                    out.append((first, last))
                    first = None
                if first is None:
                    first = k
                last = k
        i += block
    if first is not None:
        out.append((first, last))
    return out


def make_question(work, text=QUESTION_TEXT):
    """espeak-ng + sox → 16 kHz mono s16 WAV with the leading/trailing silence trimmed.
    Returns (path, samples)."""
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is not installed (apt-get install espeak-ng sox)")
    raw = os.path.join(work, "question-espeak.wav")
    out = os.path.join(work, "question.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "175", text, "-w", raw], check=True)
    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", out,
                    "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse"],
                   check=True)
    rate, _, samples = read_wav(out)
    if rate != 16000 or len(samples) < 8000:
        raise BenchError(f"question WAV came out wrong: {rate} Hz, {len(samples)} samples")
    return out, samples


class Plan:
    """The conversation: `turns` push-to-talk turns of the same question, laid out on the
    microphone's timeline (seconds from the start of the capture WAV):

        lead_in | turn 0: press, pre, question, post, release, gap | turn 1 ... | tail

    Press and release fall on the 100 ms grid plus a per-turn phase under 20 ms; the gap leaves
    room for the echoed answer to play out before the next press."""

    def __init__(self, question, turns, lead_in=1.5, pre=0.2, post=0.2, answer_margin=0.8, rate=16000):
        self.rate = rate
        self.turns = turns
        self.question = question
        q_s = len(question) / rate
        span = sound_span(question, rate)
        if span is None:
            raise BenchError("the question WAV is silent")
        self.question_span_s = (span[1] - span[0] + 1) / rate
        self.pre = pre
        self.window = math.ceil((pre + q_s + post) * 10 - 1e-9) / 10   # press → release
        gap = math.ceil((self.window + answer_margin) * 10 - 1e-9) / 10  # release → next press
        self.period = round(self.window + gap, 1)
        self.lead_in = lead_in
        self.press = [round(lead_in + i * self.period, 1) for i in range(turns)]
        self.release = [round(p + self.window, 1) for p in self.press]
        # Each turn's press (and release) comes this much after its grid time: golden-ratio
        # steps through one 20 ms audio period, whole 16 kHz samples. Answers then reach the
        # clients' 20 ms playback periods at every phase instead of always the same one.
        self.phase = [round((i * 0.6180339887) % 1.0 * 0.020 * rate) / rate for i in range(turns)]
        self.duration = round(lead_in + turns * self.period + 1.0, 1)

    def capture_samples(self):
        n = int(self.duration * self.rate)
        out = array.array("h", bytes(2 * n))
        q = len(self.question)
        for p in self.press:
            at = int(round((p + self.pre) * self.rate))
            out[at:at + q] = self.question
        return out

    def as_dict(self):
        return {"turns": self.turns, "press": self.press, "release": self.release, "phase": self.phase,
                "window": self.window,
                "period": self.period, "lead_in": self.lead_in, "pre": self.pre,
                "question_span_s": self.question_span_s, "duration": self.duration}


# --- omni-sim ----------------------------------------------------------------------------------

class SimProcess:
    """One omni-sim process with a JSONL log, on a given or a free port."""

    def __init__(self, binary, log_path, args, port=0, stderr_path=None):
        self.binary, self.log_path, self.args = binary, log_path, list(args)
        self.stderr_path = stderr_path or (log_path + ".stderr")
        self.port = port
        self.proc = None
        self.offset = None
        self.start()

    def start(self):
        self.stderr = open(self.stderr_path, "a")
        self.proc = subprocess.Popen(
            [self.binary, "--listen", f"127.0.0.1:{self.port}", "--log", self.log_path, *self.args],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        m = re.fullmatch(r"omni-sim listening on (\S+):(\d+)", line.strip())
        if not m:
            self.kill()
            raise BenchError(f"omni-sim did not start: {line!r}; see {self.stderr_path}")
        self.listening_at = now()
        self.port = int(m.group(2))
        self.offset = None

    @property
    def base_url(self):
        return f"ws://127.0.0.1:{self.port}{WS_PATH}"

    @property
    def url(self):
        return f"{self.base_url}?model={MODEL}"

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()

    def stop(self):
        self.kill(signal.SIGTERM)

    def clock_offset(self, samples=8):
        """Seconds to add to a log t_ms/1000 to get CLOCK_MONOTONIC. omni-sim's t_ms counts from
        its own start; this sends `samples` session.update events on a separate connection,
        notes when each was sent, and takes the smallest (log time - send time): the loopback
        transit, well under a millisecond, is the error."""
        import socket
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET {WS_PATH}?model={MODEL} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer sk-bench-sync\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise BenchError("omni-sim closed the clock-sync connection")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise BenchError(f"omni-sim refused the clock-sync connection: {head[:80]!r}")
        sent = []
        for i in range(samples):
            payload = json.dumps({"event_id": f"event_sync{i}", "type": "session.update",
                                  "session": {"modalities": ["text"], "turn_detection": None}}).encode()
            mask = os.urandom(4)
            frame = bytearray([0x81])
            n = len(payload)
            frame += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126, n >> 8, n & 0xFF])
            frame += mask + bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
            t = now()
            s.sendall(frame)
            sent.append((f"event_sync{i}", t))
            time.sleep(0.01)
        time.sleep(0.1)
        s.close()
        time.sleep(0.05)
        logged = {}
        for e in read_jsonl(self.log_path):
            ev = e.get("event", {})
            if e.get("dir") == "client" and ev.get("type") == "session.update" and \
                    str(ev.get("event_id", "")).startswith("event_sync"):
                logged[ev["event_id"]] = e["t_ms"] / 1000.0
        diffs = [logged[k] - t for k, t in sent if k in logged]
        if len(diffs) < samples // 2:
            raise BenchError("clock sync with omni-sim failed: its log does not show the sync events")
        # log = mono + d  →  mono = log - d; the smallest d has the least transit in it.
        self.offset = -min(diffs)
        self.sync_spread_ms = (max(diffs) - min(diffs)) * 1000
        return self.offset

    def events(self):
        return read_jsonl(self.log_path)


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written right now
    except FileNotFoundError:
        pass
    return out


def sim_turns(events, offset, conn=None):
    """Per manual turn on the simulator's side, in order: commit received (monotonic s), bytes
    appended before it (and the audio itself when the log has it: --log-audio true), response
    status, answer bytes sent, first audio delta sent (monotonic s). The clock-sync connection
    is left out."""
    conns = {}
    sync_conns = set()
    for e in events:
        ev = e.get("event", {})
        if e.get("dir") == "client" and ev.get("type") == "session.update" and \
                str(ev.get("event_id", "")).startswith("event_sync"):
            sync_conns.add(e.get("conn"))
    turns = []
    for e in events:
        c = e.get("conn")
        if c in sync_conns or (conn is not None and c != conn):
            continue
        st = conns.setdefault(c, {"appended": 0, "audio": [], "turn": None})
        ev = e.get("event", {})
        typ = ev.get("type")
        t = e["t_ms"] / 1000.0 + offset
        if e.get("dir") == "client":
            if typ == "input_audio_buffer.append":
                a = ev.get("audio")
                if isinstance(a, int):
                    st["appended"] += a
                else:
                    pcm = base64.b64decode(a)
                    st["appended"] += len(pcm)
                    st["audio"].append(pcm)
            elif typ == "input_audio_buffer.commit":
                turn = {"conn": c, "commit": t, "committed_bytes": st["appended"], "answer_bytes": 0,
                        "first_delta": None, "status": None, "done": None,
                        "audio": b"".join(st["audio"]) if st["audio"] else None}
                st["appended"] = 0
                st["audio"] = []
                st["turn"] = turn
                turns.append(turn)
            elif typ == "input_audio_buffer.clear":
                st["appended"] = 0
                st["audio"] = []
        elif e.get("dir") == "server" and st["turn"] is not None:
            turn = st["turn"]
            if typ == "response.audio.delta":
                d = ev.get("delta")
                turn["answer_bytes"] += d if isinstance(d, int) else len(base64.b64decode(d))
                if turn["first_delta"] is None:
                    turn["first_delta"] = t
            elif typ == "response.done":
                turn["status"] = ev.get("response", {}).get("status")
                turn["done"] = t
    return turns


# --- /proc -------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    """utime + stime of `pid` in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_thread_cpu_s(pid):
    """utime + stime per thread name (threads of the same name summed), in seconds."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {key}")


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_threads(pid):
    return proc_status_kb(pid, "Threads")


# --- statistics --------------------------------------------------------------------------------

def percentile(values, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def median(values):
    return percentile(values, 50)


def locate(capture_bytes, audio, near, rate=16000, probe_at=0.5, window_s=1.5):
    """Where `audio` (s16le bytes a client committed) starts in the capture signal, searching
    near sample `near`: the sample index, or None when the audio is not a verbatim piece of the
    capture. The probe comes from inside the spoken question (the hum alone repeats every 64
    samples)."""
    n = len(audio) // 2
    at = min(int(probe_at * rate), max(0, n - 400))
    probe = audio[2 * at:2 * (at + 400)]
    lo = max(0, near - int(window_s * rate))
    hi = min(len(capture_bytes) // 2, near + int(window_s * rate) + n)
    region = capture_bytes[2 * lo:2 * hi]
    k = region.find(probe)
    while k >= 0 and k % 2:
        k = region.find(probe, k + 1)
    if k < 0:
        return None
    start = lo + k // 2 - at
    if start < 0 or capture_bytes[2 * start:2 * start + len(audio)] != audio:
        return None
    return start
