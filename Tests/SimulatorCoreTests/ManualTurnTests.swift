import RealtimeProtocol
import XCTest

@testable import SimulatorCore

final class ManualTurnTests: XCTestCase {
    func testSessionCreatedOnOpen() {
        let h = Harness()
        XCTAssertEqual(h.types, ["session.created"])
        guard case .sessionCreated(let s) = h.events[0].body else { return XCTFail() }
        XCTAssertEqual(s.model, "qwen3-omni-flash-realtime")
        XCTAssertEqual(s.id, h.session.sessionID)
        XCTAssertTrue(s.id!.hasPrefix("sess_"))
        XCTAssertEqual(s.turnDetection.value?.threshold, 0.5)
        XCTAssertEqual(s.voice, "Cherry")
    }

    func testManualTurnFullSequence() {
        let h = Harness(options: .fast(toneMs: 300))
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 300))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(ResponseParameters(instructions: .null)))
        h.settle()
        XCTAssertEqual(h.types, [
            "session.created", "session.updated",
            "input_audio_buffer.committed", "conversation.item.created",
            "response.created", "response.output_item.added", "conversation.item.created",
            "response.content_part.added", "conversation.item.input_audio_transcription.completed",
            "response.audio_transcript.delta", "response.audio.delta",
            "response.audio_transcript.delta", "response.audio.delta",
            "response.audio_transcript.delta", "response.audio.delta",
            "response.audio_transcript.done", "response.audio.done", "response.content_part.done",
            "response.output_item.done", "response.done",
        ])
        // Ids agree across the turn.
        guard case .inputAudioBufferCommitted(let userItem, _) = h.events[2].body,
            case .responseCreated(let created) = h.events[4].body,
            case .responseDone(let done) = h.events.last!.body,
            case .inputTranscriptionCompleted(let trItem, _, _) = h.events[8].body
        else { return XCTFail() }
        XCTAssertEqual(trItem, userItem)
        XCTAssertEqual(created.id, done.id)
        XCTAssertEqual(done.status, "completed")
        XCTAssertEqual(done.output?.first?.content?.first?.transcript, "This is a 440 hertz test tone.")
        XCTAssertNotNil(done.usage?.inputTokensDetails?.audioTokens)
        XCTAssertEqual(done.usage.map { $0.inputTokens! + $0.outputTokens! }, done.usage?.totalTokens)
        XCTAssertEqual(created.outputAudioFormat, "pcm16")
        // Every server event id has the documented shape.
        for e in h.events {
            XCTAssertTrue(e.eventID!.hasPrefix("event_"))
            XCTAssertEqual(e.eventID!.count, 6 + 21)
        }
        let transcript = h.events.compactMap { e -> String? in
            if case .audioTranscriptDelta(_, let d) = e.body { return d }
            return nil
        }.joined()
        XCTAssertEqual(transcript, "This is a 440 hertz test tone.")
    }

    func testTextOnlyModalities() {
        let h = Harness(options: .fast())
        h.send(#"{"type":"session.update","session":{"modalities":["text"],"turn_detection":null}}"#)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        XCTAssertFalse(h.types.contains("response.audio.delta"))
        XCTAssertFalse(h.types.contains("response.audio_transcript.delta"))
        let deltas = h.events.compactMap { e -> String? in
            if case .textDelta(_, let d) = e.body { return d }
            return nil
        }
        XCTAssertEqual(deltas.joined(), "This is a 440 hertz test tone.")
        XCTAssertEqual(Array(h.types.suffix(4)),
                       ["response.text.done", "response.content_part.done", "response.output_item.done", "response.done"])
        guard case .contentPartAdded(_, let part) = h.events("response.content_part.added")[0].body else { return XCTFail() }
        XCTAssertEqual(part.type, "text")
    }

    func testPerResponseModalitiesOverride() {
        let h = Harness(options: .fast())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(ResponseParameters(modalities: ["text"])))
        h.settle()
        XCTAssertTrue(h.types.contains("response.text.delta"))
        XCTAssertFalse(h.types.contains("response.audio.delta"))
    }

    func testClearThenEmptyCommit() {
        let h = Harness(options: .fast())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferClear)
        XCTAssertEqual(h.types.last, "input_audio_buffer.cleared")
        h.send(.inputAudioBufferCommit)
        XCTAssertEqual(h.lastError()?.message, "Input audio buffer is empty.")
    }

    func testDeltaSizeAndPacing() {
        var o = SimOptions()
        o.answer = .tone(ToneSpec(durationMs: 1000))
        o.speed = 4
        o.firstDeltaMs = 200
        o.responseDelayMs = 20
        let h = Harness(options: o)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        let created = h.log.first { if case .send(let e) = $0.action { e.type == "response.created" } else { false } }!
        XCTAssertEqual(created.at, .milliseconds(20))
        let deltas = h.log.compactMap { entry -> (Duration, Int)? in
            if case .send(let e) = entry.action, case .audioDelta(_, let d) = e.body {
                return (entry.at, PCM16.samples(fromBase64: d)!.count * 2)
            }
            return nil
        }
        XCTAssertEqual(deltas.count, 10)
        for (i, d) in deltas.enumerated() {
            XCTAssertEqual(d.1, 4800, "100 ms at 24 kHz")
            XCTAssertEqual(d.0, .milliseconds(220 + 25 * i), "delta \(i) at 4x real time")
        }
    }

    func testTranscriptionSentLaterWithoutAResponse() {
        var o = SimOptions.fast()
        o.transcriptionDelayMs = 500
        let h = Harness(options: o)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.advance(by: .milliseconds(499))
        XCTAssertFalse(h.types.contains("conversation.item.input_audio_transcription.completed"))
        h.advance(by: .milliseconds(1))
        XCTAssertEqual(h.types.last, "conversation.item.input_audio_transcription.completed")
    }

    func testTranscriptionDisabled() {
        let h = Harness(options: .fast())
        h.send(#"{"type":"session.update","session":{"turn_detection":null,"input_audio_transcription":null}}"#)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        XCTAssertFalse(h.types.contains("conversation.item.input_audio_transcription.completed"))
        XCTAssertTrue(h.types.contains("response.done"))
    }

    func testSessionFinish() {
        let h = Harness(options: .fast())
        h.send(#"{"type":"session.finish"}"#)
        h.settle()
        XCTAssertEqual(h.types.last, "session.finished")
        XCTAssertEqual(h.actions.last, .close(code: 1000, reason: ""))
        XCTAssertTrue(h.session.isClosed)
    }

    func testSessionFinishUnsupported() {
        var o = SimOptions.fast()
        o.sessionFinishSupported = false
        let h = Harness(options: o)
        h.send(#"{"type":"session.finish"}"#)
        XCTAssertEqual(h.lastError()?.type, "invalid_request_error")
        XCTAssertFalse(h.session.isClosed)
    }

    func testDeterministicIDs() {
        func run() -> [String] {
            let h = Harness(options: .fast(), seed: 7)
            h.send(manualUpdate)
            h.append(Signal.tone(ms: 200))
            h.send(.inputAudioBufferCommit)
            h.send(.responseCreate(nil))
            h.settle()
            return h.events.map { $0.encoded() }
        }
        XCTAssertEqual(run(), run())
    }

    func testScriptAnswersInOrder() {
        var o = SimOptions.fast()
        o.answer = .script([
            ScriptAnswer(transcript: "First answer.", audio: [Int16](repeating: 7, count: 4800), userTranscript: "Hi."),
            ScriptAnswer(transcript: "Second answer.", audio: [Int16](repeating: 9, count: 2400)),
        ])
        let h = Harness(options: o)
        h.send(manualUpdate)
        for _ in 0..<3 {
            h.append(Signal.tone(ms: 200))
            h.send(.inputAudioBufferCommit)
            h.send(.responseCreate(nil))
            h.settle()
        }
        let done = h.events("response.audio_transcript.done").compactMap { e -> String? in
            if case .audioTranscriptDone(_, let t) = e.body { return t }
            return nil
        }
        XCTAssertEqual(done, ["First answer.", "Second answer.", "First answer."])
        let user = h.events("conversation.item.input_audio_transcription.completed").compactMap { e -> String? in
            if case .inputTranscriptionCompleted(_, _, let t) = e.body { return t }
            return nil
        }
        XCTAssertEqual(user.first, "Hi.")
        XCTAssertEqual(Array(h.outputAudio.prefix(4800)), [Int16](repeating: 7, count: 4800))
    }
}
