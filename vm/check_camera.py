#!/usr/bin/env python3
"""Checks the VM test's camera frames from the host's side (standard library only).

  check_camera.py --jpeg F.jpg --size WxH
  check_camera.py --sim SIM.jsonl --size WxH --colour C --leds LEDS.log --journal J.log --negotiated TEXT

- --jpeg: the file is one whole baseline/progressive JPEG (SOI, a frame header, EOI) of WxH;
- --sim: every image omnid appended (omni-sim's --log-audio true log keeps the Base64) is such a
  JPEG of WxH; omni-sim accepted and decoded each (`_sim.image`: size, mean colour), at least
  one, all of colour C, no error event went back, and the transcript omni-sim answered with
  (--answer describe) names exactly those images;
- --leds: the camera's privacy LED (4th column of vm/guest/ledsample.c's log) was dark before the
  press, lit while the RGB LED showed listening, and dark again at the end;
- --journal: omnid logged the format it negotiated (TEXT) and that frames went with the turn.
Prints one line per finding; exits 1 with the first failure's reason on the last line.
"""
import argparse, base64, json, re, sys

fails = []


def finding(ok, text):
    print(("ok   " if ok else "FAIL ") + text)
    if not ok:
        fails.append(text)


def jpeg_size(b):
    """(width, height) from the first SOFn of a JPEG, or a reason string."""
    if len(b) < 4 or b[:2] != b"\xff\xd8":
        return "no SOI marker"
    if b[-2:] != b"\xff\xd9":
        return "no EOI marker at the end"
    i = 2
    while i + 4 <= len(b):
        if b[i] != 0xFF:
            return f"no marker at byte {i}"
        m = b[i + 1]
        if m == 0xFF:
            i += 1
            continue
        n = int.from_bytes(b[i + 2 : i + 4], "big")
        if m in (0xC0, 0xC1, 0xC2) and i + 9 <= len(b):
            return int.from_bytes(b[i + 7 : i + 9], "big"), int.from_bytes(b[i + 5 : i + 7], "big")
        if m == 0xDA:
            return "scan before a frame header"
        i += 2 + n
    return "no frame header"


def check_jpeg(b, want, what):
    s = jpeg_size(b)
    finding(s == want, f"{what}: {len(b)} bytes, " + (f"JPEG {s[0]}x{s[1]}" if isinstance(s, tuple) else s)
            + f" (want {want[0]}x{want[1]})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jpeg")
    ap.add_argument("--sim")
    ap.add_argument("--size", required=True)
    ap.add_argument("--colour")
    ap.add_argument("--leds")
    ap.add_argument("--journal")
    ap.add_argument("--negotiated")
    a = ap.parse_args()
    want = tuple(int(x) for x in a.size.split("x"))

    if a.jpeg:
        check_jpeg(open(a.jpeg, "rb").read(), want, a.jpeg)

    if a.sim:
        appended, images, transcripts, errors = [], [], [], []
        for line in open(a.sim):
            o = json.loads(line)
            ev = o.get("event", {})
            t = ev.get("type")
            if o.get("dir") == "client" and t == "input_image_buffer.append":
                appended.append(ev.get("image"))
            elif t == "_sim.image":
                images.append(ev)
            elif t == "response.audio_transcript.done":
                transcripts.append(ev.get("transcript", ""))
            elif t == "error":
                errors.append(ev.get("error", {}).get("message", str(ev)))
        finding(len(appended) >= 1, f"omnid appended {len(appended)} image(s)")
        for k, img in enumerate(appended):
            if not isinstance(img, str):
                finding(False, f"image {k + 1}: no Base64 payload in the log (run omni-sim with --log-audio true)")
                continue
            check_jpeg(base64.b64decode(img), want, f"image {k + 1}")
        finding(len(images) == len(appended) and images,
                f"omni-sim accepted and decoded {len(images)} of them: "
                + "; ".join(f"{i.get('width')}x{i.get('height')} {i.get('process')} {i.get('bytes')} bytes "
                            f"mean {i.get('mean_rgb')} {i.get('colour')}" for i in images))
        finding(all((i.get("width"), i.get("height")) == want for i in images), f"omni-sim saw {a.size} in every image")
        if a.colour:
            finding(all(i.get("colour") == a.colour for i in images), f"every image is mostly {a.colour} (vivid's test pattern)")
        finding(not errors, "omni-sim sent no error" + (": " + "; ".join(errors) if errors else ""))
        w, h = want
        if len(images) == 1:
            expected = f"I see one {w}×{h} image, mostly {images[0].get('colour')}."
        else:
            expected = f"I see {len(images)} images: " + ", then ".join(f"{w}×{h} mostly {i.get('colour')}" for i in images) + "."
        finding(expected in transcripts, f"the answer's transcript names them: {transcripts!r} (want {expected!r})")

    if a.leds:
        rows = []
        for line in open(a.leds):
            t, v = line.split()
            rows.append((float(t), v))
        if not rows or rows[-1][1] != "end" or any(len(v) != 4 for _, v in rows[:-1]):
            finding(False, "the LED log has no end mark or no camera LED column")
        else:
            samples = rows[:-1]
            finding(samples[0][1][3] == "0", f"camera LED dark before the press ({samples[0][1]})")
            lit = [(t, v) for t, v in samples if v[3] == "1"]
            during = [(t, v) for t, v in lit if v[:3] == "001"]
            finding(bool(during), f"camera LED lit while listening (RGB 001): {len(during)} of {len(samples)} samples")
            finding(samples[-1][1][3] == "0", f"camera LED dark at the end ({samples[-1][1]})")
            if lit:
                on = lit[0][0]
                off = next((t for t, v in samples if t > on and v[3] == "0"), None)
                left = next((t for t, v in samples if t > on and v[:3] != "001"), None)
                if off is not None and left is not None:
                    print(f"     camera LED on for {(off - on) * 1000:.0f} ms; off {(off - left) * 1000:+.0f} ms after listening ended")

    if a.journal:
        text = open(a.journal, errors="replace").read()
        m = re.search(r"camera: capturing from (.*)", text)
        finding(bool(m) and a.negotiated in m.group(1),
                f"omnid negotiated {m.group(1) if m else '(no capturing-from line)'} (want {a.negotiated})")
        m = re.search(r"camera: (\d+) frames? went with the turn", text)
        finding(bool(m), "omnid: " + (m.group(0) if m else "no 'N frame(s) went with the turn' line"))
        m = re.search(r"camera: first frame sent .*", text)
        if m:
            print("     " + m.group(0))

    if fails:
        print(fails[0])
        sys.exit(1)


main()
