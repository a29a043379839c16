#!/usr/bin/env python3
"""Regenerates the committed seed corpus, fuzz/corpus/<target>/, from the repository's own
inputs: the golden traces (one wire frame per file, Base64 payloads shortened), etc/omni.conf,
board/*.toml, the TOML snippets of Tests/ConfigFileTests, control lines and small generated WAV
files. Deterministic, so a rerun after the sources change shows up as a plain diff.

Usage: fuzz/seeds.py   (from anywhere; writes only under fuzz/corpus/)

Seeds stay below 4 KiB (the JSON, control and WAV fuzzing -max_len) and 8 KiB (config, board);
libFuzzer's own finds are not committed here: CI starts from these seeds every run.
"""
import hashlib
import json
import os
import re
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def shorten(value):
    """Long strings (Base64 audio, instructions) cut to 64 characters, a multiple of 4 so Base64
    stays valid: the fuzzer needs the shape, not the payload."""
    if isinstance(value, str):
        return value[:64] if len(value) > 64 else value
    if isinstance(value, list):
        return [shorten(v) for v in value]
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    return value


def json_seeds():
    traces = os.path.join(ROOT, "Tests", "Fixtures", "traces")
    seen = set()
    for name in sorted(os.listdir(traces)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(traces, name), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                frame = json.loads(line)
                for k in ("dir", "t_ms", "_note"):
                    frame.pop(k, None)
                frame = shorten(frame)
                # One seed per distinct shape (type and key set, nested keys included).
                shape = json.dumps(frame, sort_keys=True)
                shape = re.sub(r'"(?:[^"\\]|\\.)*"(?=\s*[,}\]])', '""', shape)
                shape = re.sub(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", "0", shape)
                if shape in seen:
                    continue
                seen.add(shape)
                text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
                kind = re.sub(r"[^a-z0-9_.]", "_", frame.get("type", "none"))
                write("json", f"{name[:-6]}-{number:03d}-{kind}.json", text)
    # Corners of the JSON grammar the traces do not show.
    extras = {
        "numbers.json": '[0,-0,-0.0,1e308,-1e-308,12345678901234567890,9007199254740993,1.5E+3,0.1]',
        "escapes.json": r'{"s":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t\u0000","k\u0000":null}',
        "duplicate-keys.json": '{"type":"error","type":"session.finished","event_id":null}',
        "nested.json": '{"a":[[[[[[[[{"b":[{}]}]]]]]]]],"c":{"d":{"e":{}}}}',
        "unknown-event.json": '{"type":"response.future_thing","event_id":"e1","x":[1,2.5,true,false,null]}',
        "bad-field.json": '{"type":"response.audio.delta","delta":7}',
    }
    for n, t in extras.items():
        write("json", n, t)


def swift_strings(path):
    """The TOML snippets of a Swift test file: one-line "…" arguments of load/error/board calls
    and the bodies of triple-quoted literals (indentation of the closing quotes removed)."""
    text = open(path, encoding="utf-8").read()
    out = []
    for m in re.finditer(r'(?:load|error|board)\("((?:[^"\\]|\\.)*)"', text):
        if "\\(" not in m.group(1):  # skip interpolations
            out.append(m.group(1).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\"))
    for m in re.finditer(r'"""\n(.*?)\n([ ]*)"""', text, re.S):
        indent = m.group(2)
        body = "\n".join(l[len(indent):] if l.startswith(indent) else l.lstrip() for l in m.group(1).split("\n"))
        out.append(body.replace('\\"', '"') + "\n")
    return out


def config_seeds():
    write("config", "etc-omni.conf", open(os.path.join(ROOT, "etc", "omni.conf"), "rb").read())
    for s in swift_strings(os.path.join(ROOT, "Tests", "ConfigFileTests", "ConfigTests.swift")):
        write("config", "test-" + hashlib.sha1(s.encode()).hexdigest()[:12] + ".toml", s)
    # What the harness's fake file system answers: a board by name, and the one API key file.
    write("config", "board-and-key.toml",
          '[board]\nname = "virtual"\n[service]\napi_key_file = "/fuzz/api-key"\nurl = "ws://127.0.0.1:8765"\n'
          '[session]\ninstructions = """\nBe brief.\n"""\nmodalities = ["text"]\nvad_threshold = -0.25\n')
    write("config", "board-file.toml", '[board]\nfile = "/fuzz/boards/x.toml"\n[log]\nlevel = "debug"\n')


def board_seeds():
    boards = os.path.join(ROOT, "board")
    for name in sorted(os.listdir(boards)):
        if name.endswith(".toml"):
            write("board", name, open(os.path.join(boards, name), "rb").read())
    for s in swift_strings(os.path.join(ROOT, "Tests", "ConfigFileTests", "ApplianceBoardConfigTests.swift")):
        write("board", "test-" + hashlib.sha1(s.encode()).hexdigest()[:12] + ".toml", s)


def control_seeds():
    write("control", "commands.txt", "press\nrelease\ntap\nlong-press\ndouble-press\nstatus\n")
    write("control", "spellings.txt", "  PRESS \r\nlong_press\nLongPress\ndoublepress\n\tStatus\t\nexplode\n\n")
    status = {"state": "ready", "mode": "push-to-talk", "muted": False, "connection": "ready",
              "counters": {"turns": 3, "answered": 2, "failed": 0, "cancelled": 1, "replayed": 0, "barge_ins": 1,
                           "reconnects": 0, "dropped_frames": 0, "xruns": 0, "underruns": 2},
              "last_turn": {"release_to_commit_ms": 12.5, "commit_to_first_delta_ms": 480.25,
                            "first_delta_to_first_sample_ms": None}}
    write("control", "status-reply.txt", json.dumps(status, separators=(",", ":")) + "\n")
    status.update(state="muted", mode="vad", muted=True, last_turn=None)
    write("control", "status-muted.txt", json.dumps(status, separators=(",", ":")))
    write("control", "errors.txt", 'error: unknown command "x"; use press, release\nok\n')


def wav(rate, channels, bits, frames, fmt_tag=1, extensible=False, extra_chunk=False, data_size=None):
    bps = bits // 8
    samples = b"".join(struct.pack("<i", (i * 2654435761) & 0x7FFFFFFF)[:bps] for i in range(frames * channels))
    if extensible:
        fmt = struct.pack("<HHIIHHHHIH14s", 0xFFFE, channels, rate, rate * channels * bps, channels * bps, bits,
                          22, bits, 0, fmt_tag, b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * channels * bps, channels * bps, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        body += b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"  # odd size: padded to even
    size = len(samples) if data_size is None else data_size
    body += b"data" + struct.pack("<I", size) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_seeds():
    write("wav", "mono16-16k.wav", wav(16000, 1, 16, 64))
    write("wav", "stereo16-48k.wav", wav(48000, 2, 16, 32))
    write("wav", "mono24-24k.wav", wav(24000, 1, 24, 40))
    write("wav", "stereo32-44k.wav", wav(44100, 2, 32, 16))
    write("wav", "extensible.wav", wav(16000, 2, 16, 24, extensible=True))
    write("wav", "list-chunk.wav", wav(8000, 1, 16, 30, extra_chunk=True))
    write("wav", "streaming-size0.wav", wav(16000, 1, 16, 20, data_size=0))
    write("wav", "streaming-sizeFFFFFFFF.wav", wav(16000, 1, 16, 20, data_size=0xFFFFFFFF))
    write("wav", "float.wav", wav(16000, 1, 32, 8, fmt_tag=3))
    write("wav", "truncated.wav", wav(16000, 1, 16, 16)[:30])


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    json_seeds()
    config_seeds()
    board_seeds()
    control_seeds()
    wav_seeds()
    for t in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, t))
        size = sum(os.path.getsize(os.path.join(CORPUS, t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")
