import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// `response.cancel` and server-side barge-in (protocol §5.3).
final class CancelTests: XCTestCase {
    func realTime(toneMs: Int = 3000) -> SimOptions {
        var o = SimOptions()
        o.answer = .tone(ToneSpec(durationMs: toneMs))
        o.speed = 1
        o.firstDeltaMs = 100
        o.responseDelayMs = 20
        return o
    }

    let closeout = ["response.audio_transcript.done", "response.audio.done", "response.content_part.done",
                    "response.output_item.done"]

    func testCancelMidAnswer() {
        let h = Harness(options: realTime())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 300))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.advance(to: .milliseconds(420))  // header at 20, deltas at 120, 220, 320, 420
        XCTAssertEqual(h.events("response.audio.delta").count, 4)
        let mark = h.log.count
        h.send(.responseCancel)
        XCTAssertEqual(h.types(since: mark), closeout, "closeout, and no response.done by default")
        guard case .outputItemDone(_, _, let item) = h.events.last!.body else { return XCTFail() }
        XCTAssertEqual(item.status, "incomplete")
        guard case .audioTranscriptDone(_, let partial) = h.events("response.audio_transcript.done")[0].body else {
            return XCTFail()
        }
        XCTAssertTrue("This is a 440 hertz test tone.".hasPrefix(partial))
        XCTAssertLessThan(partial.count, "This is a 440 hertz test tone.".count)
        h.settle(limit: .seconds(10))
        XCTAssertEqual(h.events("response.audio.delta").count, 4, "nothing streams after the cancel")
        // A second cancel hits the "none active" error; a new response can be created.
        h.send(.responseCancel)
        XCTAssertEqual(h.lastError()?.message, "Conversation has none active response")
        h.send(.responseCreate(nil))
        h.settle(limit: .seconds(10))
        XCTAssertEqual(h.events("response.done").count, 1)
    }

    func testCancelBeforeResponseCreated() {
        let h = Harness(options: realTime())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 300))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        let mark = h.log.count
        h.send(.responseCancel)
        let t = h.types(since: mark)
        XCTAssertEqual(t.first, "response.created", "the answer is opened so its closeout is well-formed")
        XCTAssertEqual(Array(t.suffix(4)), closeout)
    }

    func testCancelEmitsResponseDoneKnob() {
        var o = realTime()
        o.cancelEmitsResponseDone = true
        let h = Harness(options: o)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 300))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.advance(to: .milliseconds(300))
        h.send(.responseCancel)
        guard case .responseDone(let r) = h.events.last!.body else { return XCTFail("no response.done") }
        XCTAssertEqual(r.status, "cancelled")
        XCTAssertEqual(r.output?.first?.status, "incomplete")
    }

    func testBargeInInterruptsAnswer() {
        let h = Harness(options: realTime())
        h.send(#"{"type":"session.update","session":{"turn_detection":{"type":"server_vad","threshold":0.5,"silence_duration_ms":500}}}"#)
        // Turn 1: speech then silence streamed every 100 ms, as a VAD client does.
        var chunks = [[Int16]](repeating: Signal.tone(ms: 100), count: 5)
        chunks += [[Int16]](repeating: Signal.silence(ms: 100), count: 15)
        chunks += [[Int16]](repeating: Signal.tone(ms: 100), count: 4)  // barge-in at chunk 20
        chunks += [[Int16]](repeating: Signal.silence(ms: 100), count: 10)
        var interruptMark = 0
        for (i, c) in chunks.enumerated() {
            h.advance(to: .milliseconds(100 * (i + 1)))
            if i == 20 { interruptMark = h.log.count }
            h.append(c)
        }
        h.settle(limit: .seconds(10))
        let after = h.types(since: interruptMark)
        XCTAssertEqual(Array(after.prefix(6)), ["input_audio_buffer.speech_started", "response.audio.delta"] + closeout,
                       "speech_started, one in-flight delta, closeout")
        let firstDone = h.events("response.done")
        XCTAssertEqual(firstDone.count, 1, "only the second answer has response.done")
        let itemsDone = h.events("response.output_item.done").compactMap { e -> String? in
            if case .outputItemDone(_, _, let i) = e.body { return i.status }
            return nil
        }
        XCTAssertEqual(itemsDone, ["incomplete", "completed"])
        // The second turn's user item is the one announced by the barge-in speech_started.
        let started = h.events("input_audio_buffer.speech_started").compactMap { e -> String? in
            if case .speechStarted(_, let id) = e.body { return id }
            return nil
        }
        let committed = h.events("input_audio_buffer.committed").compactMap { e -> String? in
            if case .inputAudioBufferCommitted(let id, _) = e.body { return id }
            return nil
        }
        XCTAssertEqual(started, committed)
        XCTAssertEqual(started.count, 2)
        XCTAssertNotEqual(started[0], started[1])
    }

    func testNoInterruptWhenDisabled() {
        let h = Harness(options: realTime(toneMs: 2000))
        h.send(#"{"type":"session.update","session":{"turn_detection":{"type":"server_vad","silence_duration_ms":300,"interrupt_response":false}}}"#)
        var chunks = [[Int16]](repeating: Signal.tone(ms: 100), count: 3)
        chunks += [[Int16]](repeating: Signal.silence(ms: 100), count: 8)
        chunks += [[Int16]](repeating: Signal.tone(ms: 100), count: 3)
        chunks += [[Int16]](repeating: Signal.silence(ms: 100), count: 8)
        for (i, c) in chunks.enumerated() {
            h.advance(to: .milliseconds(100 * (i + 1)))
            h.append(c)
        }
        h.settle(limit: .seconds(20))
        XCTAssertEqual(h.events("response.done").count, 2, "the second turn's answer waits for the first")
        XCTAssertFalse(h.events("response.output_item.done").contains { e in
            if case .outputItemDone(_, _, let i) = e.body { return i.status == "incomplete" }
            return false
        })
    }
}
