"""The official DashScope SDK (OmniRealtimeConversation), changed only in URL and key, against omni-sim."""

import threading
import time

import pytest
from dashscope.audio.qwen_omni import MultiModality, OmniRealtimeCallback, OmniRealtimeConversation

from conftest import MODEL, chunks, pcm_samples, silence16k, tone16k, tone_sample, wait_until


class Collector(OmniRealtimeCallback):
    def __init__(self):
        self.events = []
        self.closed = threading.Event()
        self.done = threading.Event()

    def on_event(self, message):
        self.events.append(message)
        if message["type"] == "response.done":
            self.done.set()

    def on_close(self, code, msg):
        self.closed.set()

    def types(self):
        return [e["type"] for e in self.events]

    def of(self, type_):
        return [e for e in self.events if e["type"] == type_]


def conversation(sim, cb):
    conv = OmniRealtimeConversation(model=MODEL, callback=cb, url=sim.base_url, api_key="sk-any-key")
    conv.connect()
    return conv


def assert_answer(cb):
    types = cb.types()
    assert "response.created" in types
    assert cb.of("response.audio.delta"), "audio deltas"
    assert cb.of("response.audio_transcript.delta"), "transcript deltas"
    done = cb.of("response.done")
    assert len(done) == 1
    assert done[0]["response"]["status"] == "completed"
    usage = done[0]["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert set(usage["input_tokens_details"]) == {"text_tokens", "audio_tokens"}
    # The tail of protocol §5.1, in order.
    tail = [t for t in types if t in (
        "response.audio_transcript.done", "response.audio.done", "response.content_part.done",
        "response.output_item.done", "response.done")]
    assert tail == ["response.audio_transcript.done", "response.audio.done", "response.content_part.done",
                    "response.output_item.done", "response.done"]
    transcript = "".join(e["delta"] for e in cb.of("response.audio_transcript.delta"))
    assert cb.of("response.audio_transcript.done")[0]["transcript"] == transcript


def test_manual_turn(start_sim):
    sim = start_sim("--answer", "tone", "--speed", "8", "--first-delta-ms", "50")
    cb = Collector()
    conv = conversation(sim, cb)
    conv.update_session(output_modalities=[MultiModality.AUDIO, MultiModality.TEXT], voice="Cherry",
                        enable_turn_detection=False, input_audio_transcription_model="gummy-realtime-v1",
                        instructions="You are Xiaoyun.")
    for c in chunks(tone16k(1000)):
        conv.append_audio(c)
    conv.commit()
    conv.create_response()
    assert cb.done.wait(15), cb.types()
    assert conv.get_session_id().startswith("sess_")
    assert conv.get_last_response_id().startswith("resp_")
    conv.end_session(timeout=5)  # session.finish → session.finished
    assert cb.closed.wait(5), "the server closes after session.finished"

    assert_answer(cb)
    types = cb.types()
    assert types[:4] == ["session.created", "session.updated", "input_audio_buffer.committed",
                         "conversation.item.created"]
    assert "conversation.item.input_audio_transcription.completed" in types
    assert types[-1] == "session.finished"
    assert cb.of("session.updated")[0]["session"]["turn_detection"] is None
    # The tone answer, sample by sample, and in 100 ms deltas.
    deltas = [e["delta"] for e in cb.of("response.audio.delta")]
    samples = pcm_samples(deltas)
    assert len(samples) == 24000
    assert samples == [tone_sample(n) for n in range(24000)]
    assert all(len(d) == 6400 for d in deltas), "4800 bytes of PCM per delta"
    assert conv.get_last_first_audio_delay() is not None


def test_server_vad_turn(start_sim):
    sim = start_sim("--answer", "echo", "--speed", "8", "--first-delta-ms", "50")
    cb = Collector()
    conv = conversation(sim, cb)
    # The SDK's defaults: server_vad, threshold 0.2, prefix 300 ms, silence 800 ms.
    conv.update_session(output_modalities=[MultiModality.AUDIO, MultiModality.TEXT], voice="Cherry")
    audio = silence16k(500) + tone16k(1000) + silence16k(3000)
    for c in chunks(audio):
        conv.append_audio(c)
        time.sleep(0.01)  # 10x real time: VAD works on audio time, not on arrival time
        if cb.done.is_set():
            break
    assert cb.done.wait(15), cb.types()
    conv.close()

    assert_answer(cb)
    types = cb.types()
    order = ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
             "input_audio_buffer.committed", "conversation.item.created", "response.created"]
    assert [t for t in types if t in order][:5] == order
    started = cb.of("input_audio_buffer.speech_started")[0]
    stopped = cb.of("input_audio_buffer.speech_stopped")[0]
    committed = cb.of("input_audio_buffer.committed")[0]
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert started["audio_start_ms"] == pytest.approx(500 - 300, abs=10)
    assert stopped["audio_end_ms"] == pytest.approx(1500, abs=10)
    # Echo: the utterance (prefix padding + speech) comes back at 24 kHz.
    samples = pcm_samples([e["delta"] for e in cb.of("response.audio.delta")])
    assert len(samples) == pytest.approx((300 + 1000) * 24, abs=24 * 10)


def test_text_only_response(start_sim):
    sim = start_sim("--answer", "tone", "--speed", "0")
    cb = Collector()
    conv = conversation(sim, cb)
    conv.update_session(output_modalities=[MultiModality.TEXT], enable_turn_detection=False)
    for c in chunks(tone16k(300)):
        conv.append_audio(c)
    conv.commit()
    conv.create_response()
    assert cb.done.wait(15)
    conv.close()
    assert cb.of("response.text.delta") and not cb.of("response.audio.delta")
    assert cb.of("response.text.done")[0]["text"] == "This is a 440 hertz test tone."


def test_cancel_mid_answer(start_sim):
    # A minute of answer in real time: the cancel (after the third delta) lands mid-answer
    # unless this process stalls for about that long.
    sim = start_sim("--answer", "tone", "--tone-ms", "60000", "--speed", "1", "--first-delta-ms", "0")
    cb = Collector()
    conv = conversation(sim, cb)
    conv.update_session(output_modalities=[MultiModality.AUDIO, MultiModality.TEXT], enable_turn_detection=False)
    for c in chunks(tone16k(300)):
        conv.append_audio(c)
    conv.commit()
    conv.create_response()
    assert wait_until(lambda: len(cb.of("response.audio.delta")) >= 3), cb.types()
    conv.cancel_response()
    assert wait_until(lambda: cb.of("response.output_item.done")), cb.types()
    # Nothing more for that response: a session.update sent now is answered after anything the
    # cancel still had to say (the server handles events in order).
    conv.update_session(output_modalities=[MultiModality.AUDIO, MultiModality.TEXT], enable_turn_detection=False)
    assert wait_until(lambda: len(cb.of("session.updated")) == 2), cb.types()
    conv.close()
    types = cb.types()
    item = cb.of("response.output_item.done")[0]["item"]
    assert item["status"] == "incomplete"
    assert not cb.of("response.done"), "no response.done after a cancel (default knob)"
    # The answer stopped at the cancel: no audio after the item was closed, and not the whole
    # answer (600 deltas).
    closed_at = types.index("response.output_item.done")
    assert "response.audio.delta" not in types[closed_at:], types
    assert len(cb.of("response.audio.delta")) < 600
