import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// Every `error` of protocol §8.2 and the validation rules of §3.1, each leaving the session usable.
final class ErrorTests: XCTestCase {
    let jpeg: String = Base64.encode(CameraFixtures.bytes("grey-16x16.jpg"))

    private func assertError(_ h: Harness, type: String = "invalid_request_error", code: String, message: String,
                             param: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let e = h.lastError() else { return XCTFail("no error", file: file, line: line) }
        XCTAssertEqual(e.type, type, file: file, line: line)
        XCTAssertEqual(e.code, code, file: file, line: line)
        XCTAssertEqual(e.message, message, file: file, line: line)
        XCTAssertEqual(e.param, param, file: file, line: line)
    }

    func testInvalidModalities() {
        let h = Harness()
        h.send(#"{"type":"session.update","session":{"modalities":["audio"]}}"#)
        assertError(h, code: "invalid_value",
                    message: "Invalid modalities: ['audio']. Supported combinations are: ['text'] and ['audio', 'text'].",
                    param: "session.modalities")
    }

    func testImageBeforeAudio() {
        let h = Harness(options: .fast())
        h.send(manualUpdate)
        h.send(.inputImageBufferAppend(image: jpeg))
        assertError(h, code: "", message: "Error append image before append audio.", param: "")
        h.append(Signal.tone(ms: 100))
        let n = h.events.count
        h.send(.inputImageBufferAppend(image: jpeg))
        XCTAssertEqual(h.events.count, n, "an image after audio is accepted silently")
        // A commit empties the buffer: the next image needs fresh audio first.
        h.send(.inputAudioBufferCommit)
        h.send(.inputImageBufferAppend(image: jpeg))
        XCTAssertEqual(h.lastError()?.message, "Error append image before append audio.")
    }

    func testBadAndOversizeImage() {
        var o = SimOptions.fast()
        o.maxImageBase64Bytes = 1024
        let h = Harness(options: o)
        h.append(Signal.tone(ms: 100))
        h.send(.inputImageBufferAppend(image: Base64.encode([0x89, 0x50, 0x4E, 0x47])))
        XCTAssertEqual(h.lastError()?.param, "image")
        h.send(.inputImageBufferAppend(image: String(repeating: "A", count: 2048)))
        XCTAssertEqual(h.lastError()?.message, "Image exceeds the maximum size of 1 KB (Base64).")
    }

    func testCancelWithNothingActive() {
        let h = Harness()
        h.send(.responseCancel)
        assertError(h, code: "", message: "Conversation has none active response", param: "")
    }

    func testEmptyCommit() {
        let h = Harness()
        h.send(manualUpdate)
        h.send(.inputAudioBufferCommit)
        assertError(h, code: "", message: "Input audio buffer is empty.", param: "")
    }

    func testDuplicateResponseCreate() {
        var o = SimOptions.fast()
        o.responseDelayMs = 20
        let h = Harness(options: o)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 100))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.send(.responseCreate(nil))
        assertError(h, code: "", message: "Conversation already has an active response", param: "")
        h.settle()
        XCTAssertEqual(h.events("response.created").count, 1)
        XCTAssertEqual(h.events("response.done").count, 1)
        // The error came before the first response's response.created (as in errors.jsonl).
        XCTAssertLessThan(h.types.firstIndex(of: "error")!, h.types.firstIndex(of: "response.created")!)
    }

    func testUnknownEventType() {
        let h = Harness()
        h.send(#"{"type":"conversation.item.truncate","item_id":"x"}"#)
        XCTAssertEqual(h.lastError()?.type, "invalid_request_error")
        XCTAssertEqual(h.lastError()?.message, "Invalid event type: 'conversation.item.truncate'.")
    }

    func testUnparsableFrames() {
        let h = Harness()
        for bad in ["not json", "[1,2]", #"{"no_type":1}"#, #"{"type":"input_audio_buffer.append"}"#] {
            h.send(bad)
            XCTAssertEqual(h.lastError()?.code, "invalid_json", bad)
        }
        h.send(#"{"type":"input_audio_buffer.append","audio":"***"}"#)
        XCTAssertEqual(h.lastError()?.param, "audio")
        XCTAssertFalse(h.session.isClosed)
    }

    func testIdleTimeoutClosesSession() {
        var o = SimOptions.fast()
        o.idleTimeoutS = 300
        let h = Harness(options: o)
        h.advance(to: .seconds(299))
        XCTAssertNil(h.lastError())
        h.advance(to: .seconds(301))
        XCTAssertEqual(h.lastError()?.code, "response_idle_timeout")
        XCTAssertEqual(h.lastError()?.message,
                       "Your session was closed because no response was generated for 300 seconds.")
        XCTAssertNil(h.lastError()?.param)
        XCTAssertEqual(h.actions.last, .close(code: 1000, reason: ""))
    }

    func testIdleTimerRestartsAfterAResponse() {
        var o = SimOptions.fast()
        o.idleTimeoutS = 10
        let h = Harness(options: o)
        h.send(manualUpdate)
        h.advance(to: .seconds(8))
        h.append(Signal.tone(ms: 100))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.advance(to: .seconds(17))
        XCTAssertNil(h.lastError())
        h.advance(to: .seconds(19))
        XCTAssertEqual(h.lastError()?.code, "response_idle_timeout")
    }

    func testMaxSessionLength() {
        var o = SimOptions.fast()
        o.maxSessionS = 5
        let h = Harness(options: o)
        h.advance(to: .seconds(6))
        XCTAssertEqual(h.lastError()?.code, "session_expired")
        XCTAssertEqual(h.actions.last, .close(code: 1000, reason: ""))
    }

    // MARK: session.update validation: error with param, previous configuration kept.

    private func assertRejected(_ session: String, param: String, file: StaticString = #filePath, line: UInt = #line) {
        let h = Harness()
        let before = h.session.state
        h.send(#"{"type":"session.update","session":\#(session)}"#)
        XCTAssertEqual(h.types.last, "error", file: file, line: line)
        XCTAssertEqual(h.lastError()?.type, "invalid_request_error", file: file, line: line)
        XCTAssertEqual(h.lastError()?.code, "invalid_value", file: file, line: line)
        XCTAssertEqual(h.lastError()?.param, param, file: file, line: line)
        XCTAssertEqual(h.session.state, before, "session kept", file: file, line: line)
        h.send(#"{"type":"session.update","session":{"voice":"Ethan"}}"#)
        XCTAssertEqual(h.types.last, "session.updated", file: file, line: line)
    }

    func testUpdateValidation() {
        assertRejected(#"{"voice":"Alloy"}"#, param: "session.voice")
        assertRejected(#"{"voice":""}"#, param: "session.voice")
        assertRejected(#"{"input_audio_format":"g711_ulaw"}"#, param: "session.input_audio_format")
        assertRejected(#"{"output_audio_format":"mp3"}"#, param: "session.output_audio_format")
        assertRejected(#"{"turn_detection":{"type":"semantic_vad"}}"#, param: "session.turn_detection.type")
        assertRejected(#"{"turn_detection":{"threshold":1.5}}"#, param: "session.turn_detection.threshold")
        assertRejected(#"{"turn_detection":{"threshold":-1.01}}"#, param: "session.turn_detection.threshold")
        assertRejected(#"{"turn_detection":{"silence_duration_ms":100}}"#, param: "session.turn_detection.silence_duration_ms")
        assertRejected(#"{"turn_detection":{"silence_duration_ms":6001}}"#, param: "session.turn_detection.silence_duration_ms")
        assertRejected(#"{"turn_detection":{"prefix_padding_ms":-5}}"#, param: "session.turn_detection.prefix_padding_ms")
        assertRejected(#"{"temperature":2.0}"#, param: "session.temperature")
        assertRejected(#"{"top_p":0}"#, param: "session.top_p")
        assertRejected(#"{"modalities":["audio","text"],"voice":"Nobody"}"#, param: "session.voice")
    }

    func testAcceptedFormatsAndPartialUpdates() {
        let h = Harness()
        h.send(#"{"type":"session.update","session":{"input_audio_format":"pcm16","output_audio_format":"pcm24","turn_detection":{"type":"server_vad","threshold":0.1}}}"#)
        guard case .sessionUpdated(let s) = h.events.last!.body else { return XCTFail() }
        XCTAssertEqual(s.outputAudioFormat, "pcm24")
        XCTAssertEqual(s.turnDetection.value?.threshold, 0.1)
        XCTAssertEqual(s.turnDetection.value?.silenceDurationMs, 800, "unsent fields keep their value")
        XCTAssertEqual(s.turnDetection.value?.interruptResponse, true)
        XCTAssertEqual(s.inputAudioTranscription.value?.model, .set("qwen3-asr-flash-realtime"))
        // The SDK's voice:null and transcription model:null are accepted.
        h.send(#"{"type":"session.update","session":{"voice":null,"input_audio_transcription":{"model":null},"instructions":"Be brief."}}"#)
        guard case .sessionUpdated(let s2) = h.events.last!.body else { return XCTFail() }
        XCTAssertEqual(s2.voice, "Cherry")
        XCTAssertEqual(s2.instructions, "Be brief.")
    }

    func testVoiceLockedAfterAudio() {
        let h = Harness(options: .fast())
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 100))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        h.send(#"{"type":"session.update","session":{"voice":"Ethan"}}"#)
        XCTAssertEqual(h.lastError()?.code, "cannot_update_voice")
        h.send(#"{"type":"session.update","session":{"voice":"Cherry"}}"#)
        XCTAssertEqual(h.types.last, "session.updated", "same voice is fine")
    }

    func testInvalidResponseModalities() {
        let h = Harness(options: .fast())
        h.send(#"{"type":"response.create","response":{"modalities":["audio"]}}"#)
        XCTAssertEqual(h.lastError()?.param, "response.modalities")
        XCTAssertFalse(h.types.contains("response.created"))
    }
}
