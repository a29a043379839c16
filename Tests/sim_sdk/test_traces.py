"""The golden traces (Tests/Fixtures/traces, protocol §12) replayed against the omni-sim binary:
the client side is sent at the trace's pace, and what comes back must match the trace's server
side in order (a run of deltas counts as one step) and in field names."""

import json
import os
import pathlib
import threading
import time

import pytest

from conftest import ROOT, connect, read_all

TRACES = ROOT / "Tests" / "Fixtures" / "traces"
DELTAS = {"response.audio.delta", "response.audio_transcript.delta", "response.text.delta"}
BOOKKEEPING = {"dir", "t_ms", "_note"}


def load(name):
    path = TRACES / name
    if not path.exists():
        pytest.fail(f"golden trace {path} is missing: it belongs to the repository (Tests/Fixtures/traces)")
    return [json.loads(line) for line in path.read_text().splitlines()]


def wire(line):
    return {k: v for k, v in line.items() if k not in BOOKKEEPING}


def key_paths(value, prefix=""):
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else k
            out.add(p)
            out |= key_paths(v, p)
    elif isinstance(value, list):
        for v in value:
            out |= key_paths(v, prefix + "[]")
    return out


def steps(events):
    """[(type, [members])], each run of deltas collapsed to one "(deltas)" step."""
    out = []
    for e in events:
        t = e["type"]
        if t in DELTAS:
            if out and out[-1][0] == "(deltas)":
                out[-1][1].append(e)
            else:
                out.append(("(deltas)", [e]))
        else:
            out.append((t, [e]))
    return out


def replay(sim, name, until=None):
    """Sends the trace's client events at its pace; reads until `until(event)` or, when None,
    until the server closes; then compares with the trace's server side."""
    lines = load(name)
    ws = connect(sim)
    result = {}
    reader = threading.Thread(target=lambda: result.setdefault("frames", read_all(ws, until=until)))
    reader.start()
    start = time.monotonic()
    for line in lines:
        if line["dir"] != "client" or line["type"].startswith("_"):
            continue
        delay = line["t_ms"] / 1000 - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)
        ws.send(json.dumps(wire(line)))
    reader.join(30)
    assert not reader.is_alive(), "the end of the exchange never came"
    frames = result["frames"]
    if until is None:
        assert frames.close_code is not None, f"server did not close: {frames.error!r}"
    else:
        ws.close()
    got = frames.events + ([{"type": "_ws.close"}] if frames.close_code is not None else [])
    want = [wire(l) for l in lines if l["dir"] == "server"]
    if want[-1]["type"] == "_ws.close":
        want[-1] = {"type": "_ws.close"}

    g, w = steps(got), steps(want)
    assert [s[0] for s in g] == [s[0] for s in w]
    for i, ((gt, gm), (_, wm)) in enumerate(zip(g, w)):
        if gt == "(deltas)":
            by_type = lambda ms: {m["type"]: key_paths(m) for m in ms}  # noqa: E731
            assert by_type(gm) == by_type(wm), f"step {i}: deltas"
        elif gt != "_ws.close":
            assert key_paths(gm[0]) == key_paths(wm[0]), f"step {i} {gt}: field names"


def is_done(e):
    return e["type"] == "response.done"


def test_vad_turn(start_sim):
    sim = start_sim("--answer", "tone", "--speed", "4", "--first-delta-ms", "100")
    replay(sim, "vad_turn.jsonl", until=is_done)


def test_manual_turn(start_sim):
    sim = start_sim("--answer", "tone", "--speed", "4", "--first-delta-ms", "100")
    replay(sim, "manual_turn.jsonl")  # ends with session.finished and the server's close


def test_barge_in(start_sim):
    # Real-time pacing and a 3 s answer, so the second utterance lands mid-answer. The first
    # answer is interrupted without response.done, so the first response.done ends the trace.
    sim = start_sim("--answer", "tone", "--tone-ms", "3000", "--speed", "1", "--first-delta-ms", "100")
    replay(sim, "barge_in.jsonl", until=is_done)


def test_errors(start_sim):
    # A 1 s idle timeout stands for the trace's 300 s; a 200 ms response delay keeps the
    # duplicate response.create (sent 5 ms after the first) ahead of response.created even on
    # a loaded machine; the trace has no input transcription in manual mode.
    sim = start_sim("--answer", "tone", "--tone-ms", "500", "--speed", "4", "--first-delta-ms", "100",
                    "--idle-timeout-s", "1", "--response-delay-ms", "200", "--no-manual-transcription")
    replay(sim, "errors.jsonl")
