"""Fixtures: start the built omni-sim binary on a free port and talk to it."""

import base64
import json
import math
import os
import pathlib
import re
import select
import signal
import struct
import subprocess
import time

import pytest
import websocket

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("OMNI_SIM") or str(ROOT / ".build" / "debug" / "omni-sim")
MODEL = "qwen3-omni-flash-realtime"
PATH = "/api-ws/v1/realtime"


class Sim:
    """One omni-sim process. `args` are extra command-line flags."""

    def __init__(self, tmp_path, args):
        self.log_path = tmp_path / f"sim-{len(list(tmp_path.glob('sim-*.jsonl')))}.jsonl"
        self.stderr_path = self.log_path.with_suffix(".stderr")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [BINARY, "--listen", "127.0.0.1:0", "--log", str(self.log_path), "--seed", "1", *args],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        m = re.fullmatch(r"omni-sim listening on (\S+):(\d+)", line.strip())
        if not m:
            self.stop()
            raise RuntimeError(f"omni-sim did not start: {line!r} {self.stderr_path.read_text()}")
        self.host, self.port = m.group(1), int(m.group(2))
        self.scheme = "wss" if "--tls-cert" in args else "ws"

    @property
    def base_url(self):
        """What the SDK is given as `url` (it appends ?model=…)."""
        return f"{self.scheme}://{self.host}:{self.port}{PATH}"

    def url(self, query=""):
        q = f"model={MODEL}" + (f"&{query}" if query else "")
        return f"{self.base_url}?{q}"

    def log(self):
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


@pytest.fixture
def start_sim(tmp_path):
    sims = []

    def start(*args):
        s = Sim(tmp_path, list(args))
        sims.append(s)
        return s

    yield start
    for s in sims:
        s.stop()


# --- waiting ------------------------------------------------------------------------------

GUARD_S = 60  # how long to wait for something that should happen: a hang guard, not a measurement


def wait_until(condition, timeout=GUARD_S, interval=0.01):
    """Polls `condition` until it is true (returns True) or the hang guard runs out (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(interval)
    return True


# --- audio helpers -------------------------------------------------------------------------

def tone16k(ms, hz=300.0, amplitude=6000):
    """16 kHz s16le sine: stands for speech."""
    n = ms * 16
    return b"".join(struct.pack("<h", int(round(amplitude * math.sin(2 * math.pi * hz * i / 16000))))
                    for i in range(n))


def silence16k(ms):
    return bytes(ms * 32)


def chunks(pcm, size=3200):
    """100 ms appends, as every official sample sends them."""
    return [base64.b64encode(pcm[i:i + size]).decode() for i in range(0, len(pcm), size)]


def tone_sample(n, hz=440.0, amplitude=8000.0):
    """omni-sim's `tone` answer, sample n (formula documented in ToneGenerator.swift)."""
    a = amplitude * math.sin(2.0 * math.pi * hz * n / 24000.0)
    return int(math.copysign(math.floor(abs(a) + 0.5), a))


def pcm_samples(b64_list):
    raw = b"".join(base64.b64decode(d) for d in b64_list)
    return list(struct.unpack(f"<{len(raw) // 2}h", raw))


# --- raw WebSocket helpers -----------------------------------------------------------------

def connect(sim, query="", key="sk-test", **kw):
    headers = [f"Authorization: Bearer {key}"] if key is not None else []
    return websocket.create_connection(sim.url(query), header=headers, timeout=5, **kw)


def send(ws, type_, **fields):
    ws.send(json.dumps({"event_id": "event_test", "type": type_, **fields}))


def manual_turn(ws, ms=300):
    send(ws, "session.update", session={"modalities": ["text", "audio"], "turn_detection": None})
    for c in chunks(tone16k(ms)):
        send(ws, "input_audio_buffer.append", audio=c)
    send(ws, "input_audio_buffer.commit")
    send(ws, "response.create", response={"instructions": None})


class Frames:
    """Everything received until the socket closes, fails or goes quiet."""

    def __init__(self):
        self.events = []       # parsed JSON frames
        self.raw = []          # text frames that are not JSON
        self.close_code = None  # from the server's close frame
        self.error = None      # exception that ended the read (reset, timeout)

    def types(self):
        return [e.get("type") for e in self.events]


def read_all(ws, until=None, quiet=None):
    """Reads frames until a close frame, an error, `until(event)` is true, or `quiet` s of silence."""
    f = Frames()
    if quiet is not None:
        ws.settimeout(quiet)
    while True:
        try:
            opcode, frame = ws.recv_data_frame(True)
        except Exception as e:  # noqa: BLE001 - the kind of failure is what tests look at
            f.error = e
            return f
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            data = frame.data
            f.close_code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
            return f
        if opcode != websocket.ABNF.OPCODE_TEXT:
            continue
        text = frame.data.decode("utf-8")
        try:
            event = json.loads(text)
        except ValueError:
            f.raw.append(text)
            continue
        f.events.append(event)
        if until is not None and until(event):
            return f
