// Shapes the service requires on the wire, and SessionConfig.merged(with:).

import RealtimeProtocol
import XCTest

final class EncodingShapeTests: XCTestCase {
    // MARK: session.update

    func testManualModeSessionUpdateEncodesTurnDetectionNull() throws {
        let config = SessionConfig(modalities: ["text", "audio"], voice: "Cherry", inputAudioFormat: "pcm",
                                   outputAudioFormat: "pcm", turnDetection: .null)
        let event = ClientEvent(eventID: "event_1764000000100", .sessionUpdate(config))
        let text = event.encoded()
        XCTAssertTrue(text.contains(#""turn_detection":null"#), text)
        // Exactly the errors.jsonl line 5 frame.
        XCTAssertEqual(text, #"{"event_id":"event_1764000000100","type":"session.update","session":{"modalities":["text","audio"],"voice":"Cherry","input_audio_format":"pcm","output_audio_format":"pcm","turn_detection":null}}"#)
        XCTAssertEqual(try ClientEvent.decode(text), event)
    }

    func testDefaultVADOmitsTurnDetection() throws {
        let text = ClientEvent(.sessionUpdate(SessionConfig(voice: "Ethan"))).encoded()
        XCTAssertEqual(text, #"{"type":"session.update","session":{"voice":"Ethan"}}"#)
        XCTAssertFalse(text.contains("turn_detection"))
    }

    /// Byte for byte what SDK 1.24.6 sends for vad_dash.py and manual_dash.py (protocol §3.1 [CAP]).
    func testSDKCapturedSessionUpdatesAreReproducedExactly() throws {
        let vad = ClientEvent(eventID: "event_6d3a", .sessionUpdate(SessionConfig(
            modalities: ["audio", "text"], voice: "Cherry", inputAudioFormat: "pcm16", outputAudioFormat: "pcm16",
            inputAudioTranscription: .set(InputAudioTranscription(model: .null)),
            turnDetection: .set(TurnDetection(type: "server_vad", threshold: 0.2, prefixPaddingMs: 300, silenceDurationMs: 800)),
            instructions: "You are Xiaoyun")))
        XCTAssertEqual(vad.encoded(), #"{"event_id":"event_6d3a","type":"session.update","session":{"modalities":["audio","text"],"voice":"Cherry","input_audio_format":"pcm16","output_audio_format":"pcm16","input_audio_transcription":{"model":null},"turn_detection":{"type":"server_vad","threshold":0.2,"prefix_padding_ms":300,"silence_duration_ms":800},"instructions":"You are Xiaoyun"}}"#)

        let manual = ClientEvent(eventID: "event_8f2a", .sessionUpdate(SessionConfig(
            modalities: ["audio", "text"], voice: "Cherry", inputAudioFormat: "pcm16", outputAudioFormat: "pcm16",
            inputAudioTranscription: .set(InputAudioTranscription(model: .set("gummy-realtime-v1"))),
            turnDetection: .null, instructions: "You are Xiaoyun")))
        XCTAssertEqual(manual.encoded(), #"{"event_id":"event_8f2a","type":"session.update","session":{"modalities":["audio","text"],"voice":"Cherry","input_audio_format":"pcm16","output_audio_format":"pcm16","input_audio_transcription":{"model":"gummy-realtime-v1"},"turn_detection":null,"instructions":"You are Xiaoyun"}}"#)

        for e in [vad, manual] { XCTAssertEqual(try ClientEvent.decode(e.encoded()), e) }
    }

    func testTriStateSessionFields() {
        func session(_ c: SessionConfig) -> String { c.json.serialized() }
        XCTAssertEqual(session(SessionConfig(inputAudioTranscription: .null)), #"{"input_audio_transcription":null}"#)
        XCTAssertEqual(session(SessionConfig(inputAudioTranscription: .set(InputAudioTranscription()))), #"{"input_audio_transcription":{}}"#)
        XCTAssertEqual(session(SessionConfig(smoothOutput: .null)), #"{"smooth_output":null}"#)
        XCTAssertEqual(session(SessionConfig(smoothOutput: .set(false))), #"{"smooth_output":false}"#)
        XCTAssertEqual(session(SessionConfig(topK: .null)), #"{"top_k":null}"#)
        XCTAssertEqual(session(SessionConfig(temperature: 0.9, topP: 1, topK: .set(50), maxTokens: 16384, repetitionPenalty: 1.05,
                                             presencePenalty: 0, seed: -1)),
                       #"{"temperature":0.9,"top_p":1.0,"top_k":50,"max_tokens":16384,"repetition_penalty":1.05,"presence_penalty":0.0,"seed":-1}"#)
        XCTAssertEqual(session(SessionConfig()), "{}")
    }

    // MARK: response.create / other client events

    func testResponseCreateShapes() throws {
        XCTAssertEqual(ClientEvent(eventID: "e", .responseCreate(nil)).encoded(), #"{"event_id":"e","type":"response.create"}"#)
        XCTAssertEqual(ClientEvent(.responseCreate(ResponseParameters(instructions: .null))).encoded(),
                       #"{"type":"response.create","response":{"instructions":null}}"#)
        XCTAssertEqual(ClientEvent(.responseCreate(ResponseParameters())).encoded(), #"{"type":"response.create","response":{}}"#)
        XCTAssertEqual(ClientEvent(.responseCreate(ResponseParameters(instructions: .set("Be brief"), modalities: ["text"],
                                                                      extra: ["temperature": 0.7]))).encoded(),
                       #"{"type":"response.create","response":{"instructions":"Be brief","modalities":["text"],"temperature":0.7}}"#)
    }

    func testSimpleClientEventShapes() {
        XCTAssertEqual(ClientEvent(eventID: "e", .inputAudioBufferAppend(audio: PCM16.base64([0, 1]))).encoded(),
                       #"{"event_id":"e","type":"input_audio_buffer.append","audio":"AAABAA=="}"#)
        XCTAssertEqual(ClientEvent(eventID: "e", .inputAudioBufferCommit).encoded(), #"{"event_id":"e","type":"input_audio_buffer.commit"}"#)
        XCTAssertEqual(ClientEvent(eventID: "e", .inputAudioBufferClear).encoded(), #"{"event_id":"e","type":"input_audio_buffer.clear"}"#)
        XCTAssertEqual(ClientEvent(eventID: "e", .inputImageBufferAppend(image: "/9j/")).encoded(), #"{"event_id":"e","type":"input_image_buffer.append","image":"/9j/"}"#)
        XCTAssertEqual(ClientEvent(eventID: "e", .responseCancel).encoded(), #"{"event_id":"e","type":"response.cancel"}"#)
        XCTAssertEqual(ClientEvent(eventID: "e", .sessionFinish).encoded(), #"{"event_id":"e","type":"session.finish"}"#)
        XCTAssertEqual(ClientEvent(.conversationItemCreate(item: .object(["type": "function_call_output", "call_id": "c", "output": "{}"]))).encoded(),
                       #"{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"c","output":"{}"}}"#)
    }

    // MARK: Every case round-trips and maps to its wire type

    func testEveryClientBodyRoundTrips() throws {
        let bodies: [ClientEventBody] = [
            .sessionUpdate(SessionConfig(modalities: ["text"], turnDetection: .set(TurnDetection(threshold: -0.5)))),
            .inputAudioBufferAppend(audio: "AAAA"), .inputAudioBufferCommit, .inputAudioBufferClear,
            .inputImageBufferAppend(image: "/9j/"), .responseCreate(nil),
            .responseCreate(ResponseParameters(instructions: .set("x"), modalities: ["text", "audio"])),
            .responseCancel, .sessionFinish, .conversationItemCreate(item: .object(["type": "function_call_output"])),
            .conversationItemCreate(item: .null), .unknown(type: "x.y"),
        ]
        for body in bodies {
            for id in [nil, "event_1"] as [String?] {
                let e = ClientEvent(eventID: id, body, extra: ["future": [1, "two"]])
                let decoded = try ClientEvent.decode(e.encoded())
                XCTAssertEqual(decoded, e, e.encoded())
                XCTAssertEqual(decoded.type, body.type)
            }
        }
    }

    func testEveryServerBodyRoundTrips() throws {
        let ref = ContentRef(responseID: "resp_1", itemID: "item_2", outputIndex: 1, contentIndex: 2)
        let item = ConversationItem(id: "item_2", status: "completed", role: "assistant",
                                    content: [ContentPart(type: "audio", transcript: "Hi")])
        let usage = Usage(totalTokens: 3, inputTokens: 2, outputTokens: 1,
                          inputTokensDetails: TokenDetails(textTokens: 1, audioTokens: 1, imageTokens: 0),
                          outputTokensDetails: TokenDetails(textTokens: 1))
        let response = ResponseInfo(id: "resp_1", conversationID: "conv_1", status: "completed", modalities: ["text", "audio"],
                                    voice: "Cherry", outputAudioFormat: "pcm", output: [item], usage: usage)
        let session = SessionConfig(id: "sess_1", object: "realtime.session", model: "qwen3-omni-flash-realtime",
                                    modalities: ["text", "audio"], voice: "Cherry", inputAudioFormat: "pcm", outputAudioFormat: "pcm",
                                    inputAudioTranscription: .set(InputAudioTranscription(model: .set("qwen3-asr-flash-realtime"))),
                                    turnDetection: .set(TurnDetection(threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 800,
                                                                      createResponse: true, interruptResponse: true)),
                                    instructions: "i", smoothOutput: .set(true), temperature: 0.8, topP: 1, topK: .set(50),
                                    maxTokens: 16384, repetitionPenalty: 1.05, presencePenalty: 0, seed: -1,
                                    extra: ["tools": [], "tool_choice": "auto"])
        let bodies: [ServerEventBody] = [
            .error(ErrorDetail(type: "invalid_request_error", code: "invalid_value", message: "m", param: "session.modalities", eventID: "event_c")),
            .error(ErrorDetail(message: "")),
            .sessionCreated(session), .sessionUpdated(session), .sessionUpdated(SessionConfig(turnDetection: .null)), .sessionFinished,
            .speechStarted(audioStartMs: 3647, itemID: "item_1"), .speechStopped(audioEndMs: 4453, itemID: "item_1"),
            .inputAudioBufferCommitted(itemID: "item_1", previousItemID: nil),
            .inputAudioBufferCommitted(itemID: "item_1", previousItemID: "item_0"),
            .inputAudioBufferCleared, .conversationItemCreated(ConversationItem(id: "item_1", role: "user", content: [ContentPart(type: "input_audio")])),
            .inputTranscriptionCompleted(itemID: "item_1", contentIndex: 0, transcript: "Hello."),
            .inputTranscriptionDelta(itemID: "item_1", contentIndex: 0, text: "今天", stash: "天气"),
            .inputTranscriptionDelta(itemID: "item_1", contentIndex: 0, text: "", stash: nil),
            .inputTranscriptionFailed(itemID: "item_1", contentIndex: 0, error: ErrorDetail(code: "c", message: "m", param: "p")),
            .responseCreated(ResponseInfo(id: "resp_1", status: "in_progress", output: [])), .responseDone(response),
            .outputItemAdded(responseID: "resp_1", outputIndex: 0, item: ConversationItem(id: "item_2", status: "in_progress", role: "assistant", content: [])),
            .outputItemDone(responseID: "resp_1", outputIndex: 0, item: item),
            .contentPartAdded(ref, part: ContentPart(type: "audio", text: "")), .contentPartDone(ref, part: ContentPart(type: "audio", text: "Hi")),
            .textDelta(ref, delta: "He"), .textDone(ref, text: "Hello"), .audioTranscriptDelta(ref, delta: "He"),
            .audioTranscriptDone(ref, transcript: "Hello"), .audioDelta(ref, delta: PCM16.base64([1, 2, 3])), .audioDone(ref),
            .functionCallArgumentsDelta, .functionCallArgumentsDone, .unknown(type: "response.output_audio.delta"),
        ]
        var types: Set<String> = []
        for body in bodies {
            for id in [nil, "event_1"] as [String?] {
                let e = ServerEvent(eventID: id, body, extra: ["future": .object(["nested": true])])
                let decoded = try ServerEvent.decode(e.encoded())
                XCTAssertEqual(decoded, e, e.encoded())
                XCTAssertEqual(decoded.type, body.type)
            }
            types.insert(body.type)
        }
        XCTAssertEqual(types.count, 27, "one distinct wire type per case")
    }

    // MARK: SessionConfig.merged(with:)

    func testMergeKeepsFieldsNotSent() {
        let base = SessionConfig(modalities: ["text", "audio"], voice: "Cherry", inputAudioFormat: "pcm", outputAudioFormat: "pcm",
                                 inputAudioTranscription: .set(InputAudioTranscription(model: .set("gummy-realtime-v1"))),
                                 turnDetection: .set(TurnDetection(threshold: 0.5, silenceDurationMs: 800)),
                                 instructions: "old", smoothOutput: .set(true), temperature: 0.8, topK: .set(50), seed: 7,
                                 extra: ["a": 1, "b": 2])
        XCTAssertEqual(base.merged(with: SessionConfig()), base, "an empty update changes nothing")

        let m = base.merged(with: SessionConfig(voice: "Ethan", temperature: 0.3, extra: ["b": 20, "c": 3]))
        XCTAssertEqual(m.voice, "Ethan")
        XCTAssertEqual(m.temperature, 0.3)
        XCTAssertEqual(m.modalities, ["text", "audio"])
        XCTAssertEqual(m.instructions, "old")
        XCTAssertEqual(m.turnDetection, base.turnDetection)
        XCTAssertEqual(m.inputAudioTranscription, base.inputAudioTranscription)
        XCTAssertEqual(m.smoothOutput, .set(true))
        XCTAssertEqual(m.topK, .set(50))
        XCTAssertEqual(m.seed, 7)
        XCTAssertEqual(m.extra, ["a": 1, "b": 20, "c": 3], "extra is merged key by key, existing keys keep their place")
    }

    func testMergeNullIsAValue() {
        let vad = SessionConfig(inputAudioTranscription: .set(InputAudioTranscription()), turnDetection: .set(TurnDetection(threshold: 0.5)),
                                smoothOutput: .set(true), topK: .set(50))
        let manual = vad.merged(with: SessionConfig(inputAudioTranscription: .null, turnDetection: .null, smoothOutput: .null, topK: .null))
        XCTAssertEqual(manual.turnDetection, .null, "turn_detection: null switches to manual mode")
        XCTAssertEqual(manual.inputAudioTranscription, .null)
        XCTAssertEqual(manual.smoothOutput, .null)
        XCTAssertEqual(manual.topK, .null)
        // And back: a set value replaces null; the VAD object is replaced as a whole, not field by field.
        let back = manual.merged(with: SessionConfig(turnDetection: .set(TurnDetection(silenceDurationMs: 900))))
        XCTAssertEqual(back.turnDetection, .set(TurnDetection(silenceDurationMs: 900)))
        XCTAssertNil(back.turnDetection.value?.threshold)
    }

    func testMergeAppliesEveryTypedField() {
        let update = SessionConfig(id: "sess_2", object: "realtime.session", model: "m2", modalities: ["text"], voice: "Ethan",
                                   inputAudioFormat: "pcm16", outputAudioFormat: "pcm24",
                                   inputAudioTranscription: .set(InputAudioTranscription(model: .set("x"))),
                                   turnDetection: .set(TurnDetection(threshold: 0.1)), instructions: "new", smoothOutput: .set(false),
                                   temperature: 1.2, topP: 0.5, topK: .set(10), maxTokens: 100, repetitionPenalty: 1.1,
                                   presencePenalty: 0.5, seed: 1, extra: ["k": "v"])
        XCTAssertEqual(SessionConfig().merged(with: update), update)
        let other = SessionConfig(id: "sess_1", object: "o", model: "m1", modalities: ["audio"], voice: "Cherry", inputAudioFormat: "pcm",
                                  outputAudioFormat: "pcm", inputAudioTranscription: .null, turnDetection: .null, instructions: "old",
                                  smoothOutput: .null, temperature: 0.1, topP: 0.9, topK: .null, maxTokens: 5, repetitionPenalty: 1,
                                  presencePenalty: 0, seed: 2)
        XCTAssertEqual(other.merged(with: update), update)
    }

    /// The simulator's use: the session echoed in session.updated is created + client update.
    func testMergeReproducesTheTraceEcho() throws {
        let frames = try Fixtures.frames().filter { $0.file == "vad_turn.jsonl" }
        guard case .sessionCreated(let created) = try ServerEvent.decode(object: XCTUnwrap(frames.first { $0.type == "session.created" }).wire).body,
              case .sessionUpdate(let update) = try ClientEvent.decode(object: XCTUnwrap(frames.first { $0.type == "session.update" }).wire).body,
              case .sessionUpdated(let echoed) = try ServerEvent.decode(object: XCTUnwrap(frames.first { $0.type == "session.updated" }).wire).body
        else { return XCTFail("trace shapes changed") }
        let merged = created.merged(with: update)
        XCTAssertEqual(merged.instructions, echoed.instructions)
        XCTAssertEqual(merged.id, echoed.id)
        XCTAssertEqual(merged.turnDetection.value?.threshold, echoed.turnDetection.value?.threshold)
        XCTAssertEqual(merged.turnDetection.value?.silenceDurationMs, echoed.turnDetection.value?.silenceDurationMs)
        XCTAssertEqual(merged.turnDetection.value?.prefixPaddingMs, echoed.turnDetection.value?.prefixPaddingMs)
        // The service fills in what the client omitted (create/interrupt_response) and pins the ASR
        // model; merging alone does not, which the simulator has to do itself.
        XCTAssertNil(merged.turnDetection.value?.createResponse)
        XCTAssertEqual(merged.inputAudioTranscription.value?.model, .set("gummy-realtime-v1"))
        XCTAssertEqual(echoed.inputAudioTranscription.value?.model, .set("qwen3-asr-flash-realtime"))
    }

    // MARK: Small API

    func testErrorSeverityAndSpokenText() {
        XCTAssertTrue(ErrorDetail(type: "invalid_request_error", message: "").isRecoverable)
        XCTAssertFalse(ErrorDetail(type: "server_error", message: "").isRecoverable)
        XCTAssertFalse(ErrorDetail(message: "Internal service error: null").isRecoverable, "no type → treat as fatal")
        XCTAssertEqual(ContentPart(type: "audio", text: "a").spokenText, "a")
        XCTAssertEqual(ContentPart(type: "audio", text: "a", transcript: "b").spokenText, "b")
        XCTAssertNil(ContentPart(type: "input_audio").spokenText)
        XCTAssertEqual(Setting<Int>.set(3).value, 3)
        XCTAssertNil(Setting<Int>.null.value)
        XCTAssertNil(Setting<Int>.unset.value)
    }
}
