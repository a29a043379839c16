// The service adds event types and fields per model generation (§2: "ignore unknown event
// types and unknown fields"). They must decode without error, be kept, and be re-emitted.

import RealtimeProtocol
import XCTest

final class UnknownFieldsTests: XCTestCase {
    private func serverRoundTrip(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> ServerEvent {
        let e = try ServerEvent.decode(text)
        assertSameJSON(e.encoded(), text, "server event lost or changed data", file: file, line: line)
        XCTAssertEqual(try ServerEvent.decode(e.encoded()), e, file: file, line: line)
        return e
    }

    private func clientRoundTrip(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> ClientEvent {
        let e = try ClientEvent.decode(text)
        assertSameJSON(e.encoded(), text, "client event lost or changed data", file: file, line: line)
        XCTAssertEqual(try ClientEvent.decode(e.encoded()), e, file: file, line: line)
        return e
    }

    func testUnknownServerEventTypesAreKept() throws {
        let text = #"{"event_id":"event_1","type":"rate_limits.updated","rate_limits":[{"name":"requests","limit":100,"remaining":99.5}],"flag":true,"nothing":null}"#
        let e = try serverRoundTrip(text)
        XCTAssertEqual(e.body, .unknown(type: "rate_limits.updated"))
        XCTAssertEqual(e.type, "rate_limits.updated")
        XCTAssertEqual(e.eventID, "event_1")
        XCTAssertEqual(e.extra.keys, ["rate_limits", "flag", "nothing"])
        XCTAssertEqual(e.extra["nothing"], .null)
        // Unknown events come back byte for byte (order kept, compact form).
        XCTAssertEqual(e.encoded(), text)

        let bare = try serverRoundTrip(#"{"type":"output_audio_buffer.started"}"#)
        XCTAssertEqual(bare.body, .unknown(type: "output_audio_buffer.started"))
        XCTAssertNil(bare.eventID)
        XCTAssertTrue(bare.extra.isEmpty)
    }

    func testUnknownClientEventTypesAreKept() throws {
        let text = #"{"event_id":"e","type":"conversation.item.truncate","item_id":"item_1","content_index":0,"audio_end_ms":1500}"#
        let e = try clientRoundTrip(text)
        XCTAssertEqual(e.body, .unknown(type: "conversation.item.truncate"))
        XCTAssertEqual(e.extra["audio_end_ms"], 1500)
        XCTAssertEqual(e.encoded(), text)
    }

    func testUnknownTopLevelFieldsOnKnownEvents() throws {
        // `obfuscation` is a newer-model field (§2).
        let delta = try serverRoundTrip(#"{"event_id":"e","type":"response.audio.delta","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"AAAA","obfuscation":"xyz","seq":7}"#)
        XCTAssertEqual(delta.body, .audioDelta(ContentRef(responseID: "r", itemID: "i"), delta: "AAAA"))
        XCTAssertEqual(delta.extra, ["obfuscation": "xyz", "seq": 7])

        // The 2026 transcription delta (§4.9) with language/emotion/obfuscation.
        let t = try serverRoundTrip(#"{"event_id":"event_C7","type":"conversation.item.input_audio_transcription.delta","item_id":"item_T","content_index":0,"text":"","stash":"今天天气怎么样？","language":"zh","emotion":"neutral","obfuscation":"ABEX"}"#)
        XCTAssertEqual(t.body, .inputTranscriptionDelta(itemID: "item_T", contentIndex: 0, text: "", stash: "今天天气怎么样？"))
        XCTAssertEqual(t.extra.keys, ["language", "emotion", "obfuscation"])

        let append = try clientRoundTrip(#"{"event_id":"e","type":"input_audio_buffer.append","audio":"AAAA","client_ts":123.5}"#)
        XCTAssertEqual(append.extra, ["client_ts": 123.5])

        // Tool-call argument events (§4.16) keep every field in extra.
        let fc = try serverRoundTrip(#"{"type":"response.function_call_arguments.done","response_id":"r","item_id":"i","output_index":0,"name":"get_current_weather","call_id":"call_2be","arguments":" {\"location\": \"北京\"}"}"#)
        XCTAssertEqual(fc.body, .functionCallArgumentsDone)
        XCTAssertEqual(fc.extra["arguments"], #" {"location": "北京"}"#)
    }

    func testUnknownFieldsInsideSession() throws {
        let text = #"""
        {"event_id":"e","type":"session.updated","session":{"id":"sess_1","object":"realtime.session","model":"qwen3.5-omni-plus-realtime",
         "modalities":["text","audio"],"voice":"Cherry","input_audio_format":"pcm","output_audio_format":"pcm",
         "audio":{"input":{"format":{"type":"pcm","sample_rate":16000}},"output":{"format":{"type":"pcm","sample_rate":24000}}},
         "input_audio_transcription":{"model":"qwen3-asr-flash-realtime","language":"zh"},
         "turn_detection":{"type":"semantic_vad","threshold":0.5,"idle_timeout_ms":10000,"eagerness":"auto"},
         "enable_search":false,"search_options":{},"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto",
         "temperature":0.8,"max_response_output_token":"inf","smooth_output":null,"top_k":null}}
        """#
        let e = try serverRoundTrip(text)
        guard case .sessionUpdated(let s) = e.body else { return XCTFail("\(e.body)") }
        XCTAssertEqual(s.extra.keys, ["audio", "enable_search", "search_options", "tools", "tool_choice", "max_response_output_token"])
        XCTAssertEqual(s.inputAudioTranscription.value?.extra, ["language": "zh"])
        XCTAssertEqual(s.turnDetection.value?.type, "semantic_vad")
        XCTAssertEqual(s.turnDetection.value?.extra, ["idle_timeout_ms": 10000, "eagerness": "auto"])
        XCTAssertEqual(s.smoothOutput, .null)
        XCTAssertEqual(s.topK, .null)
        XCTAssertTrue(e.extra.isEmpty)
    }

    func testUnknownFieldsInsideResponseItemsAndUsage() throws {
        let text = #"""
        {"event_id":"e","type":"response.done","response":{"id":"resp_1","object":"realtime.response","conversation_id":"conv_1",
         "status":"cancelled","status_details":{"type":"cancelled","reason":"turn_detected"},"modalities":["text","audio"],
         "voice":"Cherry","output_audio_format":"pcm","metadata":null,
         "output":[{"id":"item_1","object":"realtime.item","type":"message","status":"incomplete","role":"assistant",
                    "content":[{"type":"audio","transcript":"Hi","audio_ref":"x"}],"previous_item_id":"item_0"},
                   {"id":"item_2","type":"function_call","call_id":"call_1","name":"f","arguments":"{}"}],
         "usage":{"total_tokens":10,"input_tokens":6,"output_tokens":4,
                  "input_tokens_details":{"text_tokens":2,"audio_tokens":3,"image_tokens":1,"cached_tokens":0},
                  "output_tokens_details":{"text_tokens":1,"audio_tokens":3},
                  "plugins":{"search":{"count":1,"strategy":"agent"}}}}}
        """#
        let e = try serverRoundTrip(text)
        guard case .responseDone(let r) = e.body else { return XCTFail("\(e.body)") }
        XCTAssertEqual(r.status, "cancelled")
        XCTAssertEqual(r.extra.keys, ["status_details", "metadata"])
        XCTAssertEqual(r.extra["metadata"], .null)
        let out = try XCTUnwrap(r.output)
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[0].extra, ["previous_item_id": "item_0"])
        XCTAssertEqual(out[0].content?.first?.extra, ["audio_ref": "x"])
        XCTAssertEqual(out[1].type, "function_call")
        XCTAssertNil(out[1].object)
        XCTAssertNil(out[1].content)
        XCTAssertEqual(out[1].extra.keys, ["call_id", "name", "arguments"])
        XCTAssertEqual(r.usage?.inputTokensDetails?.imageTokens, 1)
        XCTAssertEqual(r.usage?.inputTokensDetails?.extra, ["cached_tokens": 0])
        XCTAssertEqual(r.usage?.extra.keys, ["plugins"])
    }

    func testUnknownFieldsInsideItemsPartsAndErrors() throws {
        let item = try serverRoundTrip(#"{"type":"conversation.item.created","previous_item_id":"p","item":{"id":"item_1","object":"realtime.item","type":"message","status":"completed","role":"user","content":[{"type":"input_audio","transcript":null,"audio_ms":500}],"created_at":1}}"#)
        guard case .conversationItemCreated(let it) = item.body else { return XCTFail("\(item.body)") }
        XCTAssertEqual(it.extra, ["created_at": 1])
        XCTAssertEqual(it.content?.first?.transcript, nil)
        XCTAssertEqual(it.content?.first?.extra, ["transcript": nil, "audio_ms": 500])
        XCTAssertEqual(item.extra, ["previous_item_id": "p"])

        let part = try serverRoundTrip(#"{"type":"response.content_part.added","response_id":"r","item_id":"i","output_index":0,"content_index":0,"part":{"type":"audio","text":"","audio":""}}"#)
        guard case .contentPartAdded(_, let p) = part.body else { return XCTFail("\(part.body)") }
        XCTAssertEqual(p.extra, ["audio": ""])

        let err = try serverRoundTrip(#"{"event_id":"e","type":"error","error":{"type":"server_error","code":null,"message":"Internal service error: null","param":null,"event_id":"event_c","request_id":"abc"}}"#)
        guard case .error(let d) = err.body else { return XCTFail("\(err.body)") }
        XCTAssertEqual(d.type, "server_error")
        XCTAssertFalse(d.isRecoverable)
        XCTAssertNil(d.code)
        XCTAssertEqual(d.eventID, "event_c")
        XCTAssertEqual(d.extra, ["code": nil, "param": nil, "request_id": "abc"])

        let failed = try serverRoundTrip(#"{"type":"conversation.item.input_audio_transcription.failed","item_id":"i","content_index":0,"error":{"code":"asr_failed","message":"m","param":"p","detail":1}}"#)
        guard case .inputTranscriptionFailed(let id, _, let fe) = failed.body else { return XCTFail("\(failed.body)") }
        XCTAssertEqual(id, "i")
        XCTAssertEqual(fe.code, "asr_failed")
        XCTAssertNil(fe.type)
        XCTAssertEqual(fe.extra, ["detail": 1])

        let create = try clientRoundTrip(#"{"type":"response.create","response":{"instructions":"Be brief","modalities":["text"],"temperature":0.7,"conversation":"none"}}"#)
        guard case .responseCreate(let params?) = create.body else { return XCTFail("\(create.body)") }
        XCTAssertEqual(params.instructions, .set("Be brief"))
        XCTAssertEqual(params.modalities, ["text"])
        XCTAssertEqual(params.extra, ["temperature": 0.7, "conversation": "none"])

        let tool = try clientRoundTrip(#"{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"call_1","output":"{\"ok\":true}"}}"#)
        guard case .conversationItemCreate(let raw) = tool.body else { return XCTFail("\(tool.body)") }
        XCTAssertEqual(raw.objectValue?["call_id"], "call_1")
    }

    /// Explicit nulls in optional fields are not the same frame as missing keys: they survive.
    func testExplicitNullsSurviveARoundTrip() throws {
        let committed = try serverRoundTrip(#"{"event_id":"e","type":"input_audio_buffer.committed","previous_item_id":null,"item_id":"item_1"}"#)
        XCTAssertEqual(committed.body, .inputAudioBufferCommitted(itemID: "item_1", previousItemID: nil))
        XCTAssertEqual(committed.extra, ["previous_item_id": nil])

        let noID = try serverRoundTrip(#"{"event_id":null,"type":"session.finished"}"#)
        XCTAssertNil(noID.eventID)

        let session = try clientRoundTrip(#"{"type":"session.update","session":{"instructions":null,"voice":"Ethan","turn_detection":null,"input_audio_transcription":null}}"#)
        guard case .sessionUpdate(let s) = session.body else { return XCTFail("\(session.body)") }
        XCTAssertNil(s.instructions)
        XCTAssertEqual(s.turnDetection, .null)
        XCTAssertEqual(s.inputAudioTranscription, .null)
        XCTAssertEqual(s.extra, ["instructions": nil])

        let createNull = try clientRoundTrip(#"{"type":"response.create","response":null}"#)
        XCTAssertEqual(createNull.body, .responseCreate(nil))
        XCTAssertEqual(createNull.encoded(), #"{"type":"response.create","response":null}"#)

        let itemNull = try clientRoundTrip(#"{"type":"conversation.item.create","item":null}"#)
        XCTAssertEqual(itemNull.body, .conversationItemCreate(item: .null))
        let itemMissing = try clientRoundTrip(#"{"type":"conversation.item.create"}"#)
        XCTAssertEqual(itemMissing.encoded(), #"{"type":"conversation.item.create"}"#)

        // A typed value set later wins over the preserved null.
        var edited = s
        edited.instructions = "Hello"
        XCTAssertEqual(ClientEvent(.sessionUpdate(edited)).encoded(),
                       #"{"type":"session.update","session":{"voice":"Ethan","input_audio_transcription":null,"turn_detection":null,"instructions":"Hello"}}"#)
    }

    /// `extra` entries never override or duplicate a typed field when encoding.
    func testTypedFieldsWinOverExtraOnEncode() throws {
        let e = ServerEvent(eventID: "e", .speechStarted(audioStartMs: 5, itemID: "item_1"),
                            extra: ["item_id": "bogus", "type": "bogus", "x": 1])
        XCTAssertEqual(e.encoded(), #"{"event_id":"e","type":"input_audio_buffer.speech_started","audio_start_ms":5,"item_id":"item_1","x":1}"#)
    }
}
