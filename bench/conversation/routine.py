"""Press → session ready when a press lands on a routine close (bench/run.sh --only routine).

omni-sim closes a session after 2 s without a response (the service does at 300 s). Two ways:
  renewal   omnid knows the rule (`idle_close_s = 2`) and replaces the session 0.4 s ahead of it;
  service   omnid does not (`idle_close_s = 300`): omni-sim closes, omnid reconnects quietly.
Each run waits until the session is seen being replaced (status `connection` is not `ready`,
polled on a persistent control connection), presses at once, and times the press to omnid's next
`session ready (` log line (the moment the held audio starts flowing to the new session). Only
presses that did land in the replacement count (the new session was not ready yet when the press
went out, and the turn was resent: status `resent` went up);
each is then released and must be answered. Figures are printed, never asserted.
"""

import os
import time

from common import BenchError, SimProcess, median, now, percentile
from omnid_proc import Omnid


def _one_way(a, work, silence, name, omnid_idle_s):
    sim = SimProcess(a.omni_sim, os.path.join(work, f"sim-routine-{name}.jsonl"),
                     ["--answer", "tone", "--tone-ms", "200", "--idle-timeout-s", "2", "--log-audio", "false",
                      "--first-delta-ms", "0", "--seed", "5"])
    o = Omnid(a.omnid, work, f"omnid-routine-{name}", sim.base_url, silence,
              os.path.join(work, f"omnid-routine-{name}.wav"), a.board_dir,
              extra_service=f"idle_close_s = {omnid_idle_s}")
    times, attempts = [], 0
    try:
        o.wait_line(r"\bsession ready\b", 20, what="session ready")
        o.wait_connected_status()
        while len(times) < a.routine_runs and attempts < a.routine_runs * 4:
            attempts += 1
            before = o.status()
            deadline = now() + 5
            while True:
                # The mark comes before the poll, so a new session that is ready by the time the
                # press goes out is seen (and the press not counted) rather than missed.
                mark = o.mark()
                if o.status()["connection"] != "ready":
                    break
                if now() > deadline:
                    raise BenchError(f"routine ({name}): no session replacement within 5 s")
            t_press = o.press()
            t_ready, _, _, _ = o.wait_line(r"session ready \(", 10, after=mark, what="the new session")
            landed = t_ready > t_press
            time.sleep(0.2)
            o.release()
            o.wait_ready_state(mark, 10, what=f"routine ({name}): the turn pressed on the close")
            after = o.status()
            c0, c1 = before["counters"], after["counters"]
            if c1["answered"] != c0["answered"] + 1:
                raise BenchError(f"routine ({name}): the press on the close was not answered: {c1}")
            if after["session"]["outages"] != 0:
                raise BenchError(f"routine ({name}): a routine close counted as an outage: {after['session']}")
            if landed and c1["resent"] > c0["resent"]:
                times.append((t_ready - t_press) * 1000)
    finally:
        o.stop()
        o.close_log()
        sim.stop()
    return {"press_to_ready_ms": times, "attempts": attempts}


def run_routine(a, work, silence):
    out = {}
    for name, idle in (("renewal", 2), ("service", 300)):
        print(f"omnid: press on a routine close ({name}), {a.routine_runs} landed presses", flush=True)
        out[name] = _one_way(a, work, silence, name, idle)
    return out


def report_routine(p, r):
    p("  press landing on a routine close → new session ready (its audio flowing), ms")
    for name, what in (("renewal", "omnid's renewal ahead of the idle close"), ("service", "the service's own idle close")):
        x = r.get(name)
        if not x or not x["press_to_ready_ms"]:
            continue
        t = x["press_to_ready_ms"]
        p(f"    {what:<42} p50 {median(t):.1f}  p99 {percentile(t, 99):.1f}  max {max(t):.1f}   "
          f"({len(t)} landed of {x['attempts']} presses, all answered)")
