"""omni-sim over raw WebSockets: handshake rules, every fault end to end, the log, TLS."""

import base64
import json
import shutil
import subprocess
import ssl

import pytest
import websocket

from conftest import chunks, connect, manual_turn, pcm_samples, read_all, send, silence16k, tone16k, wait_until


def status_of(exc_info):
    return exc_info.value.status_code


def test_handshake_rules(start_sim):
    sim = start_sim("--api-key", "sk-right")
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(sim, key="sk-wrong")
    assert status_of(e) == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(sim, key=None)
    assert status_of(e) == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(sim.base_url, header=["Authorization: Bearer sk-right"], timeout=5)
    assert status_of(e) == 400, "model query missing"
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(f"ws://127.0.0.1:{sim.port}/v1/other?model=m",
                                    header=["Authorization: Bearer sk-right"], timeout=5)
    assert status_of(e) == 404
    ws = websocket.create_connection(sim.url(), header=["Authorization: bearer sk-right"], timeout=5)
    assert json.loads(ws.recv())["type"] == "session.created", "lower-case scheme accepted (SDK 1.24.6)"
    ws.close()
    rejects = [l["event"]["status"] for l in sim.log() if l["event"]["type"] == "_ws.reject"]
    assert sorted(rejects) == [400, 401, 401, 404]


def test_any_key_without_api_key_flag(start_sim):
    sim = start_sim()
    ws = connect(sim, key="whatever")
    assert json.loads(ws.recv())["type"] == "session.created"
    ws.close()


def fault_turn(sim, query, **kw):
    ws = connect(sim, query)
    manual_turn(ws)
    return ws, read_all(ws, **kw)


@pytest.fixture
def sim(start_sim):
    return start_sim("--answer", "tone", "--speed", "4", "--first-delta-ms", "0")


def test_fault_close_mid_answer(sim):
    ws, f = fault_turn(sim, "fault=close_mid_answer&fault_after_deltas=3")
    assert f.close_code == 1011
    assert f.types().count("response.audio.delta") == 3
    assert "response.done" not in f.types()


def test_fault_reset(sim):
    ws, f = fault_turn(sim, "fault=reset_mid_answer")
    assert f.close_code is None, "no close frame"
    assert isinstance(f.error, ConnectionResetError), repr(f.error)
    assert f.types().count("response.audio.delta") <= 2


def test_fault_stall(sim):
    ws, f = fault_turn(sim, "fault=stall_mid_answer&fault_after_deltas=2", quiet=1.5)
    assert isinstance(f.error, websocket.WebSocketTimeoutException), "silence, not a close"
    assert f.types().count("response.audio.delta") == 2
    send(ws, "response.cancel")  # the socket is still open
    assert ws.connected
    ws.close()


@pytest.mark.parametrize("fault,code,close", [
    ("rate_limit", "Throttling.RateQuota", 1013),
    ("internal_error", "InternalError", 1011),
])
def test_fault_error_events(sim, fault, code, close):
    ws, f = fault_turn(sim, f"fault={fault}")
    errors = [e["error"] for e in f.events if e["type"] == "error"]
    assert [e["code"] for e in errors] == [code]
    assert errors[0]["type"] != "invalid_request_error"
    assert f.close_code == close
    assert "response.created" not in f.types()


def test_fault_malformed_json(sim):
    ws, f = fault_turn(sim, "fault=malformed_json", until=lambda e: e["type"] == "response.done")
    assert len(f.raw) == 1, "one frame that is not JSON"
    assert f.types()[-1] == "response.done", "the answer goes on"
    ws.close()


def test_fault_oversize_frame(sim):
    ws, f = fault_turn(sim, "fault=oversize_frame", until=lambda e: e["type"] == "response.done")
    big = [e for e in f.events if e["type"] == "sim.oversize"]
    assert len(big) == 1
    assert len(json.dumps(big[0], separators=(",", ":"))) == 5 << 20
    ws.close()


def test_fault_auth_reject(sim):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(sim, "fault=auth_reject")
    assert status_of(e) == 401


def test_fault_session_cap(sim):
    # When it fires (fault_at_ms on the session's clock) is SimulatorCoreTests'
    # FaultTests.testSessionCap, on a virtual clock; here: what the client sees, in order.
    ws = connect(sim, "fault=session_cap&fault_at_ms=600")
    f = read_all(ws)
    assert f.close_code == 1000
    assert [e["error"]["code"] for e in f.events if e["type"] == "error"] == ["session_expired"]
    assert f.types()[-1] == "error", "the error is the last event before the close"


def test_max_session_flag(start_sim):
    sim = start_sim("--max-session-s", "1")
    ws = connect(sim)
    f = read_all(ws)
    assert f.close_code == 1000
    assert f.types()[-1] == "error"


def test_fault_control_file(start_sim, tmp_path):
    control = tmp_path / "fault.txt"
    control.write_text("# next connections\nfault=close_mid_answer\nfault_after_deltas=1\n")
    sim = start_sim("--answer", "tone", "--speed", "0", "--fault-file", str(control))
    ws, f = fault_turn(sim, "")
    assert f.close_code == 1011
    control.write_text("")
    ws, f = fault_turn(sim, "", until=lambda e: e["type"] == "response.done")
    assert f.types()[-1] == "response.done"
    ws.close()


def test_log_file(start_sim):
    sim = start_sim("--answer", "tone", "--speed", "0", "--log-audio", "false")
    ws = connect(sim)
    manual_turn(ws, ms=200)
    read_all(ws, until=lambda e: e["type"] == "response.done")
    ws.close()
    # The log is written as events go; the connection's end is its last line.
    assert wait_until(lambda: any(l["event"]["type"] == "_ws.closed" for l in sim.log())), sim.log()
    lines = sim.log()
    assert all(set(l) == {"t_ms", "conn", "dir", "event"} for l in lines)
    times = [l["t_ms"] for l in lines]
    assert times == sorted(times), "monotonic"
    assert {l["conn"] for l in lines} == {1}
    client = [l["event"]["type"] for l in lines if l["dir"] == "client"]
    assert client[0] == "_ws.open"
    assert client[1:] == ["session.update", "input_audio_buffer.append", "input_audio_buffer.append",
                          "input_audio_buffer.commit", "response.create"]
    appends = [l["event"] for l in lines if l["event"]["type"] == "input_audio_buffer.append"]
    assert appends[0]["audio"] == 3200, "--log-audio false: byte counts"
    server = [l["event"]["type"] for l in lines if l["dir"] == "server"]
    assert server[0] == "session.created" and server[-1] == "response.done"
    assert lines[-1]["event"]["type"] == "_ws.closed"
    opened = lines[0]["event"]
    assert opened["headers"]["authorization"] == "<redacted>"


def test_tls(start_sim, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    sim = start_sim("--tls-cert", str(cert), "--tls-key", str(key))
    assert sim.url().startswith("wss://")
    ws = connect(sim, sslopt={"cert_reqs": ssl.CERT_NONE})
    assert json.loads(ws.recv())["type"] == "session.created"
    ws.close()
    with pytest.raises(Exception):
        websocket.create_connection(sim.url().replace("wss://", "ws://"),
                                    header=["Authorization: Bearer k"], timeout=3).recv()


def test_script_answers(start_sim, tmp_path):
    audio = bytes(range(256)) * 30  # 7680 bytes = 3840 samples of recognisable data
    (tmp_path / "a.s16le").write_bytes(audio)
    (tmp_path / "answers.txt").write_text(
        "transcript: Hello! Is there anything I can help you with?\naudio: a.s16le\nuser: Hi there.\n"
        "---\ntranscript: Second answer.\n")
    sim = start_sim("--answer", f"script:{tmp_path / 'answers.txt'}", "--speed", "0")
    ws = connect(sim)
    manual_turn(ws)
    f = read_all(ws, until=lambda e: e["type"] == "response.done")
    deltas = [e["delta"] for e in f.events if e["type"] == "response.audio.delta"]
    assert b"".join(base64.b64decode(d) for d in deltas) == audio
    assert [len(base64.b64decode(d)) for d in deltas] == [4800, 2880]
    done = [e for e in f.events if e["type"] == "response.audio_transcript.done"][0]
    assert done["transcript"] == "Hello! Is there anything I can help you with?"
    user = [e for e in f.events if e["type"] == "conversation.item.input_audio_transcription.completed"][0]
    assert user["transcript"] == "Hi there."
    ws.close()


def test_server_vad_barge_in(start_sim):
    sim = start_sim("--answer", "tone", "--tone-ms", "10000", "--speed", "1", "--first-delta-ms", "0")
    ws = connect(sim)
    send(ws, "session.update", session={"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}})
    for c in chunks(tone16k(500) + silence16k(400)):
        send(ws, "input_audio_buffer.append", audio=c)
    f = read_all(ws, until=lambda e: e["type"] == "response.audio.delta")
    for c in chunks(tone16k(300)):  # the user talks over the answer
        send(ws, "input_audio_buffer.append", audio=c)
    g = read_all(ws, until=lambda e: e["type"] == "response.output_item.done")
    types = g.types()
    started = types.index("input_audio_buffer.speech_started")
    assert types[started:] == ["input_audio_buffer.speech_started", "response.audio.delta",
                               "response.audio_transcript.done", "response.audio.done",
                               "response.content_part.done", "response.output_item.done"]
    assert g.events[-1]["item"]["status"] == "incomplete"
    send(ws, "response.cancel")  # what omni_realtime_client.py does: too late, by design
    h = read_all(ws, until=lambda e: e["type"] == "error")
    assert h.events[-1]["error"]["message"] == "Conversation has none active response"
    assert "response.done" not in f.types() + types + h.types()
    ws.close()
