"""The idle part of the benchmark: omnid connected, session ready, nobody talking, for a while.
What it costs: CPU per minute (/proc/PID/stat), wake-ups per second per thread (voluntary +
involuntary context switches, /proc/PID/task/*/status), RSS, and where the resident memory is
(/proc/PID/smaps_rollup and the largest mappings, thread stacks named after their thread).

Three runs: push-to-talk (the appliance's normal idle: the microphone runs, its audio is not
wanted), the same over wss:// (omni-sim with a throw-away certificate that omnid trusts as its
ca_file: what TLS adds, as on the real service), and vad (the microphone's audio streams to
the service all the time, here silence).
"""

import os
import subprocess
import time

from common import BenchError, SimProcess, proc_cpu_s, proc_status_kb, proc_threads
from omnid_proc import Omnid


def log(msg):
    import sys
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def thread_switches(pid):
    """{tid: (name, context switches so far, CPU s so far, exact CPU ns so far)} for every
    thread of `pid`: switches from /proc/PID/task/TID/status, CPU from its stat (utime+stime,
    what top shows) and from its schedstat (the scheduler's exact run time)."""
    from common import CLK_TCK
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                exact_ns = int(f.read().split()[0])
        except OSError:
            continue  # the thread ended between listdir and open
        name, switches = "?", 0
        for line in status.splitlines():
            if line.startswith("Name:"):
                name = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else "?"
            elif line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                switches += int(line.split()[1])
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (name, switches, (int(fields[11]) + int(fields[12])) / CLK_TCK, exact_ns)
    return out


class ThreadTally:
    """Per-thread deltas over a run, sampled every few seconds so that a thread that ends in
    the middle (libdispatch retires idle workers) loses only its last few seconds, and one born
    in the middle counts from zero."""

    def __init__(self, pid):
        self.pid = pid
        self.first = thread_switches(pid)
        self.last = dict(self.first)
        self.born = set()

    def sample(self):
        now = thread_switches(self.pid)
        for tid in now:
            if tid not in self.first and tid not in self.born:
                self.born.add(tid)
        self.last.update(now)
        self.alive = set(now)

    def per_thread(self):
        """{name: {wakeups, cpu_s, cpu_exact_s, threads}}, and the names of threads that ended."""
        out, gone = {}, []
        for tid, (name, sw, cpu, ns) in self.last.items():
            name0, sw0, c0, ns0 = (name, 0, 0.0, 0) if tid in self.born else self.first[tid]
            p = out.setdefault(name, {"wakeups": 0, "cpu_s": 0.0, "cpu_exact_s": 0.0, "threads": 0})
            p["wakeups"] += sw - sw0
            p["cpu_s"] += cpu - c0
            p["cpu_exact_s"] += (ns - ns0) / 1e9
            p["threads"] += 1
            if tid not in self.alive:
                gone.append(name)
        return out, gone


def thread_stack_pointers(pid):
    """{tid: (name, stack pointer)} from /proc/PID/task/TID/syscall ("nr args… sp pc"); a
    thread running at that instant has no sp there and is left out."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                parts = f.read().split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if len(parts) >= 3 and parts[-2].startswith("0x"):
            out[int(tid)] = (name, int(parts[-2], 16))
    return out


def smaps(pid):
    """[(start, end, name, {field: kB})] of /proc/PID/smaps."""
    maps, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                cur = (lo, hi, head[5] if len(head) > 5 else "", {})
                maps.append(cur)
            elif cur is not None and len(head) >= 2 and head[0].endswith(":") and head[1].isdigit():
                cur[3][head[0][:-1]] = int(head[1])
    return maps


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            head = line.split()
            if len(head) >= 2 and head[0].endswith(":") and head[1].isdigit():
                out[head[0][:-1]] = int(head[1])
    return out


def memory_breakdown(pid, top=12):
    """smaps_rollup plus the mappings with the most resident memory, grouped: the binary,
    each shared library (all its segments), thread stacks (by thread name), [heap], and
    anonymous mappings that are none of these (malloc arenas, Swift/Dispatch allocations)."""
    maps = smaps(pid)
    sps = thread_stack_pointers(pid)
    groups = {}
    for lo, hi, name, f in maps:
        label = name
        if not name:
            owners = sorted({n for n, sp in sps.values() if lo <= sp < hi})
            label = f"[stack: {', '.join(owners)}]" if owners else "[anonymous]"
        elif name.startswith("/"):
            label = os.path.basename(name)
        g = groups.setdefault(label, {"rss": 0, "size": 0, "locked": 0, "count": 0})
        g["rss"] += f.get("Rss", 0)
        g["size"] += f.get("Size", 0)
        g["locked"] += f.get("Locked", 0)
        g["count"] += 1
    ranked = sorted(groups.items(), key=lambda kv: -kv[1]["rss"])
    return {"rollup": rollup(pid), "groups": ranked[:top], "all_groups": ranked}


def make_certificate(work):
    """A self-signed certificate for 127.0.0.1 (its own CA), for omni-sim --tls-cert."""
    cert, key = os.path.join(work, "tls-cert.pem"), os.path.join(work, "tls-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:TRUE"], check=True, capture_output=True)
    return cert, key


def measure(a, work, mode, seconds, capture, tls=None):
    """One idle run; returns the figures. With `tls` = (cert, key): over wss://."""
    label = mode + ("-tls" if tls else "")
    sim_args = ["--answer", "echo", "--log-audio", "false", "--seed", "4"]
    if tls:
        sim_args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    sim = SimProcess(a.omni_sim, os.path.join(work, f"sim-idle-{label}.jsonl"), sim_args)
    url = sim.base_url.replace("ws://", "wss://") if tls else sim.base_url
    o = Omnid(a.omnid, work, f"omnid-idle-{label}", url, capture,
              os.path.join(work, f"omnid-idle-{label}.wav"), a.board_dir, mode=mode, ca_file=tls[0] if tls else None)
    try:
        o.wait_line(r"\bsession ready\b", 20, what="session ready")
        o.wait_connected_status()
        # The control connection is closed: a client that stays connected is not idle.
        o.close_ctl()
        time.sleep(min(5.0, max(1.0, seconds / 20)))   # settle: startup work, first keepalive
        tally, cpu0, t0 = ThreadTally(o.pid), proc_cpu_s(o.pid), time.monotonic()
        while time.monotonic() < t0 + seconds:
            time.sleep(max(0.0, min(2.0, t0 + seconds - time.monotonic())))
            tally.sample()
        cpu1, t1 = proc_cpu_s(o.pid), time.monotonic()
        mem = memory_breakdown(o.pid)
        rss, hwm, threads = proc_status_kb(o.pid, "VmRSS"), proc_status_kb(o.pid, "VmHWM"), proc_threads(o.pid)
        st = o.status()
        if st.get("state") != "ready":
            raise BenchError(f"omnid idle ({mode}): state {st.get('state')!r} after {seconds:.0f} s, expected ready")
    finally:
        o.stop()
        o.close_log()
        sim.stop()
    dt = t1 - t0
    per_thread, gone = tally.per_thread()
    return {"mode": label, "seconds": dt, "cpu_ms_per_min": (cpu1 - cpu0) * 1000 * 60 / dt,
            "cpu_exact_ms_per_min": sum(p["cpu_exact_s"] for p in per_thread.values()) * 1000 * 60 / dt,
            "wakeups_per_s": sum(p["wakeups"] for p in per_thread.values()) / dt,
            "threads": threads, "per_thread": per_thread, "threads_gone": gone,
            "rss_kb": rss, "hwm_kb": hwm, "memory": mem}


def run_idle(a, work, silence):
    out = {}
    log(f"omnid: idle in push-to-talk for {a.idle_seconds:.0f} s")
    out["push-to-talk"] = measure(a, work, "push-to-talk", a.idle_seconds, silence)
    if a.idle_tls_seconds > 0:
        log(f"omnid: idle in push-to-talk over wss:// for {a.idle_tls_seconds:.0f} s")
        out["push-to-talk over wss"] = measure(a, work, "push-to-talk", a.idle_tls_seconds, silence,
                                               tls=make_certificate(work))
    if a.idle_vad_seconds > 0:
        log(f"omnid: idle in vad mode (streaming silence) for {a.idle_vad_seconds:.0f} s")
        out["vad"] = measure(a, work, "vad", a.idle_vad_seconds, silence)
    return out


THREAD_NAMES = {"omnid": "main", "omni-audio": "audio (RT)", "omni-audio-mon": "audio monitor",
                "omni-lws-client": "websocket", "omnid-loop": "controller + websocket", "omnid-control": "control socket",
                "omnid-gpio": "gpio"}


def report_idle(p, idle):
    p("")
    p("omnid idle (connected, session ready, nobody talking; virtual board, silent microphone)")
    p("  CPU: utime+stime (/proc/PID/stat) and the scheduler's exact run time (schedstat); wake-ups: voluntary +")
    p("  involuntary context switches of every thread (/proc/PID/task/*/status)")
    for mode, r in idle.items():
        mem = r["memory"]["rollup"]
        p(f"  {mode} ({r['seconds']:.0f} s): CPU {r['cpu_ms_per_min']:.0f} ms/min "
          f"(exact {r['cpu_exact_ms_per_min']:.0f}), "
          f"wake-ups {r['wakeups_per_s']:.1f}/s, {r['threads']} threads, RSS {r['rss_kb'] / 1024:.1f} MiB "
          f"(peak {r['hwm_kb'] / 1024:.1f}; anonymous {mem.get('Anonymous', 0) / 1024:.1f}, "
          f"locked {mem.get('Locked', 0) / 1024:.1f})")
        rows = sorted(r["per_thread"].items(), key=lambda kv: -kv[1]["wakeups"])
        parts = []
        for name, v in rows:
            label = THREAD_NAMES.get(name, "dispatch" if name.startswith(("omnid.", "com.apple")) or "qos" in name
                                     else name)
            n = f" ×{v['threads']}" if v["threads"] > 1 else ""
            parts.append(f"{label}{n} {v['wakeups'] / r['seconds']:.1f}/s {v['cpu_exact_s'] * 60000 / r['seconds']:.1f} ms/min")
        p("    per thread: " + ", ".join(parts))
        if r["threads_gone"]:
            p(f"    threads that ended during the run (counted up to their last 2 s): {', '.join(r['threads_gone'])}")
        p("    largest mappings, resident kB: "
          + ", ".join(f"{name} {g['rss']}" for name, g in r["memory"]["groups"][:10]))
