#!/usr/bin/env python3
"""Checks one push-to-talk turn of the VM test from the host's side (standard library only).

  check_turn.py --sim SIM.jsonl --skip N --question Q.wav --answer A.wav --leds LEDS.log [--voice V]

- the question reached omni-sim: the input_audio_buffer.append audio after line N of omni-sim's
  log (its --log-audio true log) matches Q.wav's loudness envelope, and a commit followed;
- the answer came out of the speaker: A.wav (recorded from the aloop playback's other end)
  contains the audio omni-sim sent in its response.audio.delta events (same envelope);
- the LED lines, sampled during the turn, showed listening -> thinking -> speaking -> ready
  (board/virtual-vm.toml: an RGB LED with the default looks);
- with --voice, the session.update omni-sim received last before the turn carries that voice.
Prints one line per finding; exits 1 with the first failure's reason on the last line.
"""
import argparse, base64, json, math, struct, sys, wave

def pcm16(data):
    n = len(data) // 2
    return struct.unpack("<%dh" % n, data[: n * 2])

def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: not 16-bit")
        frames = w.readframes(w.getnframes())
        samples = pcm16(frames)
        ch = w.getnchannels()
        if ch > 1:
            samples = samples[::ch]
        return samples, w.getframerate()

def envelope(samples, rate, ms=10):
    step = max(1, rate * ms // 1000)
    out = []
    for i in range(0, len(samples) - step + 1, step):
        block = samples[i : i + step]
        out.append(math.sqrt(sum(x * x for x in block) / step))
    return out

def best_match(needle, hay):
    """Largest normalised correlation of needle against hay over every lag (needle may hang
    over either end by up to a quarter of its length). Returns (score, lag)."""
    n, m = len(needle), len(hay)
    if n == 0 or m == 0:
        return 0.0, 0
    best = (-1.0, 0)
    slack = n // 4
    for lag in range(-slack, max(1, m - n + slack + 1)):
        lo, hi = max(0, -lag), min(n, m - lag)
        if hi - lo < n * 3 // 4:
            continue
        a = needle[lo:hi]
        b = hay[lo + lag : hi + lag]
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        da = [x - ma for x in a]
        db = [x - mb for x in b]
        num = sum(x * y for x, y in zip(da, db))
        den = math.sqrt(sum(x * x for x in da) * sum(y * y for y in db))
        if den > 0 and num / den > best[0]:
            best = (num / den, lag)
    return best

def led_states(path):
    """Colour runs -> appliance states, by board/virtual-vm.toml's default RGB looks:
    listening solid blue, thinking cyan blink, speaking solid green, ready green heartbeat
    (100 ms pulses), error/offline red."""
    rows = []
    for line in open(path):
        t, v = line.split()
        # "RGBC" (vm/guest/ledsample.c): the RGB LED's three lines, then the camera's privacy LED.
        rows.append((float(t), v if v == "end" else v[:3]))
    if not rows or rows[-1][1] != "end":
        raise SystemExit("LED log has no end mark")
    runs = []
    for (t, v), (t2, _) in zip(rows, rows[1:]):
        if runs and runs[-1][0] == v:  # a change of the camera LED alone
            runs[-1] = (v, runs[-1][1] + (t2 - t) * 1000)
        else:
            runs.append((v, (t2 - t) * 1000))
    names = []
    for v, ms in runs:
        if v == "000":
            continue
        if v == "001":
            s = "listening"
        elif v == "011":
            s = "thinking"
        elif v == "010":
            s = "speaking" if ms >= 350 else "ready"
        elif v[0] == "1":
            s = "red(" + v + ")"
        else:
            s = "other(" + v + ")"
        if not names or names[-1] != s:
            names.append(s)
    return names, runs

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--question", required=True)
    ap.add_argument("--answer", required=True)
    ap.add_argument("--leds")
    ap.add_argument("--voice")
    ap.add_argument("--min-score", type=float, default=0.8)
    a = ap.parse_args()

    appended, sent, commits, voices = bytearray(), bytearray(), 0, []
    with open(a.sim) as f:
        for i, line in enumerate(f):
            if i < a.skip:
                ev = json.loads(line).get("event", {})
                if ev.get("type") == "session.update":
                    v = ev.get("session", {}).get("voice")
                    if v: voices.append(v)
                continue
            ev = json.loads(line).get("event", {})
            t = ev.get("type")
            if t == "input_audio_buffer.append" and isinstance(ev.get("audio"), str):
                appended += base64.b64decode(ev["audio"])
            elif t == "input_audio_buffer.commit":
                commits += 1
            elif t == "response.audio.delta" and isinstance(ev.get("delta"), str):
                sent += base64.b64decode(ev["delta"])
            elif t == "session.update":
                v = ev.get("session", {}).get("voice")
                if v: voices.append(v)
    fails = []
    def finding(ok, text):
        print(("ok   " if ok else "FAIL ") + text)
        if not ok:
            fails.append(text)

    q, qrate = read_wav(a.question)
    finding(len(appended) > 0 and commits >= 1,
            f"omni-sim got {len(appended) // 2} samples of input audio and {commits} commit(s)")
    if appended:
        score, lag = best_match(envelope(q, qrate), envelope(pcm16(bytes(appended)), 16000))
        finding(score >= a.min_score, f"the question arrived at omni-sim (envelope match {score:.3f}, at {lag * 10} ms)")
    ans, arate = read_wav(a.answer)
    finding(len(sent) > 0, f"omni-sim sent {len(sent) // 2 / 24000:.2f} s of answer audio")
    if sent:
        score, lag = best_match(envelope(pcm16(bytes(sent)), 24000), envelope(ans, arate))
        finding(score >= a.min_score,
                f"the speaker played what omni-sim sent (envelope match {score:.3f}, at {lag * 10} ms of {len(ans) / arate:.2f} s recorded)")
    if a.leds:
        names, runs = led_states(a.leds)
        want = ["listening", "thinking", "speaking", "ready"]
        # The expected states in order, each present, nothing red (error/offline) in the turn.
        it = iter(names)
        ordered = all(any(n == w for n in it) for w in want)
        clean = not any(n.startswith("red") or n.startswith("other") for n in names)
        finding(ordered and clean, "LED lines: " + " -> ".join(names))
    if a.voice:
        finding(bool(voices) and voices[-1] == a.voice,
                f"session.update voice now {voices[-1] if voices else None!r} (want {a.voice!r})")
    if fails:
        print(fails[0])
        sys.exit(1)

main()
