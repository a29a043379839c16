// Events the service sends (protocol §4).

public enum ServerEventBody: Sendable, Equatable {
    case error(ErrorDetail)
    case sessionCreated(SessionConfig)
    case sessionUpdated(SessionConfig)
    case sessionFinished
    case speechStarted(audioStartMs: Int, itemID: String)
    case speechStopped(audioEndMs: Int, itemID: String)
    case inputAudioBufferCommitted(itemID: String, previousItemID: String?)
    case inputAudioBufferCleared
    case conversationItemCreated(ConversationItem)
    case inputTranscriptionCompleted(itemID: String, contentIndex: Int, transcript: String)
    case inputTranscriptionDelta(itemID: String, contentIndex: Int, text: String, stash: String?)
    case inputTranscriptionFailed(itemID: String, contentIndex: Int, error: ErrorDetail)
    case responseCreated(ResponseInfo)
    case responseDone(ResponseInfo)
    case outputItemAdded(responseID: String, outputIndex: Int, item: ConversationItem)
    case outputItemDone(responseID: String, outputIndex: Int, item: ConversationItem)
    case contentPartAdded(ContentRef, part: ContentPart)
    case contentPartDone(ContentRef, part: ContentPart)
    case textDelta(ContentRef, delta: String)
    case textDone(ContentRef, text: String)
    case audioTranscriptDelta(ContentRef, delta: String)
    case audioTranscriptDone(ContentRef, transcript: String)
    /// Base64 of 24 kHz mono s16le.
    case audioDelta(ContentRef, delta: String)
    case audioDone(ContentRef)
    /// Tool-call argument streaming (tool-capable models); fields stay in `extra`.
    case functionCallArgumentsDelta
    case functionCallArgumentsDone
    /// A type this library does not know; its fields are in `extra`.
    case unknown(type: String)

    public var type: String {
        switch self {
        case .error: "error"
        case .sessionCreated: "session.created"
        case .sessionUpdated: "session.updated"
        case .sessionFinished: "session.finished"
        case .speechStarted: "input_audio_buffer.speech_started"
        case .speechStopped: "input_audio_buffer.speech_stopped"
        case .inputAudioBufferCommitted: "input_audio_buffer.committed"
        case .inputAudioBufferCleared: "input_audio_buffer.cleared"
        case .conversationItemCreated: "conversation.item.created"
        case .inputTranscriptionCompleted: "conversation.item.input_audio_transcription.completed"
        case .inputTranscriptionDelta: "conversation.item.input_audio_transcription.delta"
        case .inputTranscriptionFailed: "conversation.item.input_audio_transcription.failed"
        case .responseCreated: "response.created"
        case .responseDone: "response.done"
        case .outputItemAdded: "response.output_item.added"
        case .outputItemDone: "response.output_item.done"
        case .contentPartAdded: "response.content_part.added"
        case .contentPartDone: "response.content_part.done"
        case .textDelta: "response.text.delta"
        case .textDone: "response.text.done"
        case .audioTranscriptDelta: "response.audio_transcript.delta"
        case .audioTranscriptDone: "response.audio_transcript.done"
        case .audioDelta: "response.audio.delta"
        case .audioDone: "response.audio.done"
        case .functionCallArgumentsDelta: "response.function_call_arguments.delta"
        case .functionCallArgumentsDone: "response.function_call_arguments.done"
        case .unknown(let t): t
        }
    }
}

public struct ServerEvent: Sendable, Equatable {
    public var eventID: String?
    public var body: ServerEventBody
    public var extra: JSONObject

    public init(eventID: String? = nil, _ body: ServerEventBody, extra: JSONObject = JSONObject()) {
        self.eventID = eventID
        self.body = body
        self.extra = extra
    }

    public var type: String { body.type }

    public static func decode(_ text: String) throws(EventDecodingError) -> ServerEvent {
        try decode(object: EventEnvelope.object(from: text))
    }

    public static func decode(object o: JSONObject) throws(EventDecodingError) -> ServerEvent {
        guard let type = o["type"]?.stringValue else { throw .missingType }
        var r = FieldReader(o, context: FieldContext(event: type, path: ""))
        r.ignore("type")
        let eventID = try r.optString("event_id")
        let c = r.context
        let body: ServerEventBody
        // Identifiers and indices the service always sends default to ""/0 when missing (and are
        // then emitted); only the payload a consumer cannot do without is required.
        switch type {
        case "error": body = .error(try ErrorDetail.decode(try r.object("error"), c.child("error")))
        case "session.created": body = .sessionCreated(try SessionConfig.decode(try r.object("session"), c.child("session")))
        case "session.updated": body = .sessionUpdated(try SessionConfig.decode(try r.object("session"), c.child("session")))
        case "session.finished": body = .sessionFinished
        case "input_audio_buffer.speech_started":
            body = .speechStarted(audioStartMs: try r.int("audio_start_ms", default: 0),
                                  itemID: try r.string("item_id", default: ""))
        case "input_audio_buffer.speech_stopped":
            body = .speechStopped(audioEndMs: try r.int("audio_end_ms", default: 0),
                                  itemID: try r.string("item_id", default: ""))
        case "input_audio_buffer.committed":
            body = .inputAudioBufferCommitted(itemID: try r.string("item_id", default: ""),
                                              previousItemID: try r.optString("previous_item_id"))
        case "input_audio_buffer.cleared": body = .inputAudioBufferCleared
        case "conversation.item.created":
            body = .conversationItemCreated(try ConversationItem.decode(try r.object("item"), c.child("item")))
        case "conversation.item.input_audio_transcription.completed":
            body = .inputTranscriptionCompleted(itemID: try r.string("item_id", default: ""),
                                                contentIndex: try r.int("content_index", default: 0),
                                                transcript: try r.string("transcript", default: ""))
        case "conversation.item.input_audio_transcription.delta":
            body = .inputTranscriptionDelta(itemID: try r.string("item_id", default: ""),
                                            contentIndex: try r.int("content_index", default: 0),
                                            text: try r.string("text", default: ""), stash: try r.optString("stash"))
        case "conversation.item.input_audio_transcription.failed":
            body = .inputTranscriptionFailed(itemID: try r.string("item_id", default: ""),
                                             contentIndex: try r.int("content_index", default: 0),
                                             error: try ErrorDetail.decode(try r.object("error", default: JSONObject()),
                                                                           c.child("error")))
        case "response.created": body = .responseCreated(try ResponseInfo.decode(try r.object("response"), c.child("response")))
        case "response.done": body = .responseDone(try ResponseInfo.decode(try r.object("response"), c.child("response")))
        case "response.output_item.added", "response.output_item.done":
            let rid = try r.string("response_id", default: "")
            let idx = try r.int("output_index", default: 0)
            let item = try ConversationItem.decode(try r.object("item"), c.child("item"))
            body = type.hasSuffix("added") ? .outputItemAdded(responseID: rid, outputIndex: idx, item: item)
                : .outputItemDone(responseID: rid, outputIndex: idx, item: item)
        case "response.content_part.added", "response.content_part.done":
            let ref = try ContentRef.read(&r)
            let part = try ContentPart.decode(try r.object("part"), c.child("part"))
            body = type.hasSuffix("added") ? .contentPartAdded(ref, part: part) : .contentPartDone(ref, part: part)
        case "response.text.delta": body = .textDelta(try ContentRef.read(&r), delta: try r.string("delta"))
        case "response.text.done": body = .textDone(try ContentRef.read(&r), text: try r.string("text", default: ""))
        case "response.audio_transcript.delta":
            body = .audioTranscriptDelta(try ContentRef.read(&r), delta: try r.string("delta"))
        case "response.audio_transcript.done":
            body = .audioTranscriptDone(try ContentRef.read(&r), transcript: try r.string("transcript", default: ""))
        case "response.audio.delta": body = .audioDelta(try ContentRef.read(&r), delta: try r.string("delta"))
        case "response.audio.done": body = .audioDone(try ContentRef.read(&r))
        case "response.function_call_arguments.delta": body = .functionCallArgumentsDelta
        case "response.function_call_arguments.done": body = .functionCallArgumentsDone
        default: body = .unknown(type: type)
        }
        return ServerEvent(eventID: eventID, body, extra: r.rest)
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.put("event_id", eventID)
        w.put("type", type)
        switch body {
        case .error(let e): w.put("error", e.json)
        case .sessionCreated(let s), .sessionUpdated(let s): w.put("session", JSONValue.object(s.json))
        case .speechStarted(let ms, let item):
            w.put("audio_start_ms", ms)
            w.put("item_id", item)
        case .speechStopped(let ms, let item):
            w.put("audio_end_ms", ms)
            w.put("item_id", item)
        case .inputAudioBufferCommitted(let item, let prev):
            w.put("item_id", item)
            w.put("previous_item_id", prev)
        case .conversationItemCreated(let item): w.put("item", item.json)
        case .inputTranscriptionCompleted(let item, let ci, let t):
            w.put("item_id", item)
            w.put("content_index", ci)
            w.put("transcript", t)
        case .inputTranscriptionDelta(let item, let ci, let text, let stash):
            w.put("item_id", item)
            w.put("content_index", ci)
            w.put("text", text)
            w.put("stash", stash)
        case .inputTranscriptionFailed(let item, let ci, let e):
            w.put("item_id", item)
            w.put("content_index", ci)
            w.put("error", e.json)
        case .responseCreated(let resp), .responseDone(let resp): w.put("response", resp.json)
        case .outputItemAdded(let rid, let idx, let item), .outputItemDone(let rid, let idx, let item):
            w.put("response_id", rid)
            w.put("output_index", idx)
            w.put("item", item.json)
        case .contentPartAdded(let ref, let part), .contentPartDone(let ref, let part):
            ref.write(&w)
            w.put("part", part.json)
        case .textDelta(let ref, let d), .audioTranscriptDelta(let ref, let d), .audioDelta(let ref, let d):
            ref.write(&w)
            w.put("delta", d)
        case .textDone(let ref, let t):
            ref.write(&w)
            w.put("text", t)
        case .audioTranscriptDone(let ref, let t):
            ref.write(&w)
            w.put("transcript", t)
        case .audioDone(let ref): ref.write(&w)
        case .sessionFinished, .inputAudioBufferCleared, .functionCallArgumentsDelta, .functionCallArgumentsDone,
            .unknown:
            break
        }
        w.extra(extra)
        return w.object
    }

    public func encoded() -> String { json.serialized() }
}
