"""Driving omnid for the benchmark: config, process, stderr log, sd_notify socket, control
socket (the virtual board's button)."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from common import BenchError, INSTRUCTIONS, now

LED_RE = re.compile(r"LED state: (\w+)")
AUDIO_OPEN_RE = re.compile(r"audio capture .* audio thread at")
_FMT_RE = re.compile(r"(\d+) Hz (\d+) ch \S+, period (\d+) frames \([^)]*\), buffer (\d+) frames")


def parse_audio_formats(line):
    """Rates and period sizes from omnid's 'audio capture …; playback …' line."""
    cap, _, play = line.partition("; playback ")
    c, p = _FMT_RE.search(cap), _FMT_RE.search(play)
    if not c or not p:
        raise BenchError(f"cannot read the audio formats from omnid's log line: {line!r}")
    return {"capture_rate": int(c.group(1)), "capture_period": int(c.group(3)),
            "playback_rate": int(p.group(1)), "playback_period": int(p.group(3)), "playback_buffer": int(p.group(4))}


def write_config(path, url, capture, playback, ctl_socket, level="info", mode="push-to-talk", ca_file=None,
                 extra_service="", lookback_ms=300):
    instructions = INSTRUCTIONS.replace('"', '\\"')
    service_extra = f'ca_file = "{ca_file}"\n' if ca_file else ""
    with open(path, "w") as f:
        f.write(f"""# written by bench/conversation (the conversation benchmark)
[service]
url = "{url}"
{service_extra}{extra_service}
[session]
voice = "Cherry"
instructions = "{instructions}"
mode = "{mode}"
transcription = true
[board]
name = "virtual"
[audio]
capture = "file:{capture}"
playback = "file:{playback}"
earcons = false
# 300 ms as shipped; the conversation passes 0 (bench.py says why).
lookback_ms = {lookback_ms}
[control]
socket = "{ctl_socket}"
[log]
level = "{level}"
""")


class Omnid:
    """One `omnid run` process. Every stderr line is kept with the CLOCK_MONOTONIC time the
    driver read it; READY=1 etc. arrive on a NOTIFY_SOCKET bound here."""

    def __init__(self, binary, workdir, name, url, capture, playback, board_dir, level="info", mode="push-to-talk",
                 ca_file=None, extra_service="", lookback_ms=300):
        self.binary = binary
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.config = os.path.join(self.dir, "omni.conf")
        self.ctl_path = os.path.join(self.dir, "ctl.sock")
        self.playback = playback
        write_config(self.config, url, capture, playback, self.ctl_path, level, mode, ca_file, extra_service, lookback_ms)
        self.notify_path = os.path.join(self.dir, "notify.sock")
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notifications = []      # (t, "READY=1")
        self.lines = []              # (t, line)
        self.cond = threading.Condition()
        self.ctl_sock = None
        self.ctl_buf = b""
        env = dict(os.environ)
        env.update({"DASHSCOPE_API_KEY": "sk-bench", "OMNID_BOARD_DIR": board_dir,
                    "NOTIFY_SOCKET": self.notify_path})
        env.pop("OMNID_LOG_LEVEL", None)
        env.pop("WATCHDOG_USEC", None)
        self.log_file = open(os.path.join(self.dir, "omnid.stderr"), "w")
        self.spawned_at = now()
        self.proc = subprocess.Popen([binary, "run", "--config", self.config], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._read_notify, daemon=True).start()

    # --- observation ---------------------------------------------------------------------------

    def _read_stderr(self):
        for raw in self.proc.stderr:
            t = now()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                self.log_file.write(f"{t:.6f} {line}\n")
            except ValueError:
                pass  # closed
            with self.cond:
                self.lines.append((t, line))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_notify(self):
        while True:
            try:
                data = self.notify.recv(4096)
            except OSError:
                return
            t = now()
            with self.cond:
                for item in data.decode("utf-8", "replace").split("\n"):
                    if item:
                        self.notifications.append((t, item))
                self.cond.notify_all()

    def mark(self):
        """A position in the log: wait_line(after=mark) only looks at later lines."""
        with self.cond:
            return len(self.lines)

    def wait_line(self, pattern, timeout, after=0, what=None):
        """(t, line, match) of the first line at index >= after matching `pattern`."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = now() + timeout
        i = after
        with self.cond:
            while True:
                while i < len(self.lines):
                    t, line = self.lines[i]
                    i += 1
                    m = rx.search(line)
                    if m:
                        return t, line, m, i
                if self.proc.poll() is not None and i >= len(self.lines):
                    raise BenchError(f"omnid ({self.name}) exited with status {self.proc.returncode} while "
                                     f"waiting for {what or pattern!r}; log: {self.log_file.name}")
                left = deadline - now()
                if left <= 0:
                    raise BenchError(f"omnid ({self.name}): no {what or pattern!r} within {timeout:.0f} s; "
                                     f"log: {self.log_file.name}")
                self.cond.wait(min(left, 0.5))

    def wait_notify(self, prefix, timeout):
        deadline = now() + timeout
        with self.cond:
            while True:
                for t, item in self.notifications:
                    if item.startswith(prefix):
                        return t
                if self.proc.poll() is not None:
                    raise BenchError(f"omnid ({self.name}) exited with status {self.proc.returncode} before {prefix}")
                left = deadline - now()
                if left <= 0:
                    raise BenchError(f"omnid ({self.name}): no {prefix} on NOTIFY_SOCKET within {timeout:.0f} s")
                self.cond.wait(min(left, 0.5))

    # --- the button ----------------------------------------------------------------------------

    def ctl(self, command, timeout=3.0):
        """One command on a persistent control-socket connection (what `omnid ctl` sends);
        returns the reply line. A connection per command would add connect/accept to every
        press and release."""
        if self.ctl_sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.ctl_path)
            self.ctl_sock = s
        self.ctl_sock.sendall((command + "\n").encode())
        while b"\n" not in self.ctl_buf:
            chunk = self.ctl_sock.recv(65536)
            if not chunk:
                raise BenchError(f"omnid ({self.name}) closed the control connection")
            self.ctl_buf += chunk
        line, self.ctl_buf = self.ctl_buf.split(b"\n", 1)
        reply = line.decode()
        if reply.startswith("error"):
            raise BenchError(f"omnid ctl {command}: {reply}")
        return reply

    def press(self):
        t = now()
        r = self.ctl("press")
        if r != "ok":
            raise BenchError(f"omnid ctl press: {r}")
        return t

    def release(self):
        t = now()
        r = self.ctl("release")
        if r != "ok":
            raise BenchError(f"omnid ctl release: {r}")
        return t

    def status(self):
        return json.loads(self.ctl("status"))

    def wait_ready_state(self, after, timeout, what):
        """Waits for the `LED state: ready` line logged after index `after`."""
        return self.wait_line(r"LED state: ready\b", timeout, after=after, what=what)

    def wait_connected_status(self, timeout=10.0):
        deadline = now() + timeout
        while now() < deadline:
            try:
                st = self.status()
                if st.get("state") == "ready":
                    return st
            except (OSError, BenchError):
                pass
            time.sleep(0.02)
        raise BenchError(f"omnid ({self.name}) not ready within {timeout:.0f} s")

    # --- stop ----------------------------------------------------------------------------------

    def close_ctl(self):
        """Closes the persistent control connection (the next ctl() opens a new one)."""
        if self.ctl_sock is not None:
            try:
                self.ctl_sock.close()
            except OSError:
                pass
            self.ctl_sock = None
            self.ctl_buf = b""

    def stop(self, timeout=10.0):
        """SIGTERM; returns seconds until it exited."""
        self.close_ctl()
        t = now()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise BenchError(f"omnid ({self.name}) did not exit within {timeout:.0f} s of SIGTERM")
        took = now() - t
        self.notify.close()
        return took

    def close_log(self):
        time.sleep(0.05)
        self.log_file.close()
