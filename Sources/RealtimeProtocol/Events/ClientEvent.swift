// Events a client sends (protocol §3).

public struct ResponseParameters: Sendable, Equatable {
    /// The SDK always sends `"instructions": null`; `.null` keeps that on a round trip.
    public var instructions: Setting<String>
    public var modalities: [String]?
    public var extra: JSONObject

    public init(instructions: Setting<String> = .unset, modalities: [String]? = nil, extra: JSONObject = JSONObject()) {
        self.instructions = instructions
        self.modalities = modalities
        self.extra = extra
    }
}

public enum ClientEventBody: Sendable, Equatable {
    case sessionUpdate(SessionConfig)
    /// Base64 of 16 kHz mono s16le.
    case inputAudioBufferAppend(audio: String)
    case inputAudioBufferCommit
    case inputAudioBufferClear
    /// Base64 of a JPEG.
    case inputImageBufferAppend(image: String)
    case responseCreate(ResponseParameters?)
    case responseCancel
    case sessionFinish
    /// Tool results (tool-capable models only); kept as raw JSON. `.null` = no `item` field.
    case conversationItemCreate(item: JSONValue)
    /// A type this library does not know; its fields are in `extra`.
    case unknown(type: String)

    public var type: String {
        switch self {
        case .sessionUpdate: "session.update"
        case .inputAudioBufferAppend: "input_audio_buffer.append"
        case .inputAudioBufferCommit: "input_audio_buffer.commit"
        case .inputAudioBufferClear: "input_audio_buffer.clear"
        case .inputImageBufferAppend: "input_image_buffer.append"
        case .responseCreate: "response.create"
        case .responseCancel: "response.cancel"
        case .sessionFinish: "session.finish"
        case .conversationItemCreate: "conversation.item.create"
        case .unknown(let t): t
        }
    }
}

public struct ClientEvent: Sendable, Equatable {
    public var eventID: String?
    public var body: ClientEventBody
    /// Top-level fields not modelled above.
    public var extra: JSONObject

    public init(eventID: String? = nil, _ body: ClientEventBody, extra: JSONObject = JSONObject()) {
        self.eventID = eventID
        self.body = body
        self.extra = extra
    }

    public var type: String { body.type }

    public static func decode(_ text: String) throws(EventDecodingError) -> ClientEvent {
        try decode(object: EventEnvelope.object(from: text))
    }

    public static func decode(object o: JSONObject) throws(EventDecodingError) -> ClientEvent {
        guard let type = o["type"]?.stringValue else { throw .missingType }
        var r = FieldReader(o, context: FieldContext(event: type, path: ""))
        r.ignore("type")
        let eventID = try r.optString("event_id")
        let body: ClientEventBody
        switch type {
        case "session.update":
            body = .sessionUpdate(try SessionConfig.decode(try r.object("session"), r.context.child("session")))
        case "input_audio_buffer.append": body = .inputAudioBufferAppend(audio: try r.string("audio"))
        case "input_audio_buffer.commit": body = .inputAudioBufferCommit
        case "input_audio_buffer.clear": body = .inputAudioBufferClear
        case "input_image_buffer.append": body = .inputImageBufferAppend(image: try r.string("image"))
        case "response.create":
            // `"response": null` is left in `extra` (and re-emitted); the body is then `nil`.
            if let p = try r.optObject("response") {
                var pr = FieldReader(p, context: r.context.child("response"))
                let instructions: Setting<String> = try pr.setting("instructions") { $0.stringValue }
                let modalities = try pr.optStrings("modalities")
                body = .responseCreate(ResponseParameters(instructions: instructions, modalities: modalities, extra: pr.rest))
            } else {
                body = .responseCreate(nil)
            }
        case "response.cancel": body = .responseCancel
        case "session.finish": body = .sessionFinish
        // A missing `item` is `.null` (and not emitted); an explicit null stays in `extra`.
        case "conversation.item.create": body = .conversationItemCreate(item: r.optRaw("item") ?? .null)
        default: body = .unknown(type: type)
        }
        return ClientEvent(eventID: eventID, body, extra: r.rest)
    }

    public var json: JSONObject {
        var w = FieldWriter()
        w.put("event_id", eventID)
        w.put("type", type)
        switch body {
        case .sessionUpdate(let s): w.put("session", JSONValue.object(s.json))
        case .inputAudioBufferAppend(let a): w.put("audio", a)
        case .inputImageBufferAppend(let i): w.put("image", i)
        case .responseCreate(let p?):
            var pw = FieldWriter()
            pw.put("instructions", p.instructions) { .string($0) }
            pw.put("modalities", p.modalities)
            pw.extra(p.extra)
            w.put("response", JSONValue.object(pw.object))
        case .conversationItemCreate(let item):
            if !item.isNull { w.put("item", item) }
        case .responseCreate(nil), .inputAudioBufferCommit, .inputAudioBufferClear, .responseCancel, .sessionFinish,
            .unknown:
            break
        }
        w.extra(extra)
        return w.object
    }

    /// The compact wire form.
    public func encoded() -> String { json.serialized() }
}

enum EventEnvelope {
    static func object(from text: String) throws(EventDecodingError) -> JSONObject {
        let v: JSONValue
        do { v = try JSONParser.parse(text) } catch { throw .notJSON(error) }
        guard let o = v.objectValue else { throw .notAnObject }
        return o
    }
}
