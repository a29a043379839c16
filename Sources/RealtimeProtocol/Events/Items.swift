// Objects nested in server events: errors, conversation items, content parts, responses, usage
// (protocol §4).

public struct ErrorDetail: Sendable, Equatable {
    /// `invalid_request_error` is recoverable; anything else means the server will close (§8.1).
    public var type: String?
    public var code: String?
    public var message: String
    public var param: String?
    /// The client event the server rejected, when it says so.
    public var eventID: String?
    public var extra: JSONObject

    public init(type: String? = nil, code: String? = nil, message: String, param: String? = nil,
                eventID: String? = nil, extra: JSONObject = JSONObject()) {
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.eventID = eventID
        self.extra = extra
    }

    public var isRecoverable: Bool { type == "invalid_request_error" }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> ErrorDetail {
        var r = FieldReader(o, context: context)
        let type = try r.optString("type")
        let code = try r.optString("code")
        let message = try r.string("message", default: "")
        let param = try r.optString("param")
        let eventID = try r.optString("event_id")
        return ErrorDetail(type: type, code: code, message: message, param: param, eventID: eventID, extra: r.rest)
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("type", type)
        w.put("code", code)
        w.put("message", message)
        w.put("param", param)
        w.put("event_id", eventID)
        w.extra(extra)
        return .object(w.object)
    }
}

public struct ContentPart: Sendable, Equatable {
    public var type: String
    /// DashScope puts the transcript in `text` on some pages and `transcript` on others (§4.11).
    public var text: String?
    public var transcript: String?
    public var extra: JSONObject

    public init(type: String, text: String? = nil, transcript: String? = nil, extra: JSONObject = JSONObject()) {
        self.type = type
        self.text = text
        self.transcript = transcript
        self.extra = extra
    }

    public var spokenText: String? { transcript ?? text }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> ContentPart {
        var r = FieldReader(o, context: context)
        let type = try r.string("type", default: "")
        let text = try r.optString("text")
        let transcript = try r.optString("transcript")
        return ContentPart(type: type, text: text, transcript: transcript, extra: r.rest)
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("type", type)
        w.put("text", text)
        w.put("transcript", transcript)
        w.extra(extra)
        return .object(w.object)
    }
}

public struct ConversationItem: Sendable, Equatable {
    public var id: String
    public var object: String?
    public var type: String?
    public var status: String?
    public var role: String?
    public var content: [ContentPart]?
    public var extra: JSONObject

    public init(id: String, object: String? = "realtime.item", type: String? = "message", status: String? = nil,
                role: String? = nil, content: [ContentPart]? = nil, extra: JSONObject = JSONObject()) {
        self.id = id
        self.object = object
        self.type = type
        self.status = status
        self.role = role
        self.content = content
        self.extra = extra
    }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> ConversationItem {
        var r = FieldReader(o, context: context)
        let id = try r.string("id", default: "")
        let object = try r.optString("object")
        let type = try r.optString("type")
        let status = try r.optString("status")
        let role = try r.optString("role")
        var content: [ContentPart]?
        if let a = try r.optArray("content") {
            let cc = context.child("content")
            var parts: [ContentPart] = []
            parts.reserveCapacity(a.count)
            for (i, p) in a.enumerated() {
                guard let po = p.objectValue else { throw cc.element(i).bad("an object") }
                parts.append(try ContentPart.decode(po, cc.element(i)))
            }
            content = parts
        }
        return ConversationItem(id: id, object: object, type: type, status: status, role: role,
                                content: content, extra: r.rest)
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("id", id)
        w.put("object", object)
        w.put("type", type)
        w.put("status", status)
        w.put("role", role)
        w.put("content", content.map { JSONValue.array($0.map(\.json)) })
        w.extra(extra)
        return .object(w.object)
    }
}

public struct TokenDetails: Sendable, Equatable {
    public var textTokens: Int?
    public var audioTokens: Int?
    public var imageTokens: Int?
    public var extra: JSONObject

    public init(textTokens: Int? = nil, audioTokens: Int? = nil, imageTokens: Int? = nil, extra: JSONObject = JSONObject()) {
        self.textTokens = textTokens
        self.audioTokens = audioTokens
        self.imageTokens = imageTokens
        self.extra = extra
    }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> TokenDetails {
        var r = FieldReader(o, context: context)
        let t = try r.optInt("text_tokens"), a = try r.optInt("audio_tokens"), i = try r.optInt("image_tokens")
        return TokenDetails(textTokens: t, audioTokens: a, imageTokens: i, extra: r.rest)
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("text_tokens", textTokens)
        w.put("audio_tokens", audioTokens)
        w.put("image_tokens", imageTokens)
        w.extra(extra)
        return .object(w.object)
    }
}

/// `response.done` usage, in DashScope's field names (`input_tokens_details`, plural).
public struct Usage: Sendable, Equatable {
    public var totalTokens: Int?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var inputTokensDetails: TokenDetails?
    public var outputTokensDetails: TokenDetails?
    public var extra: JSONObject

    public init(totalTokens: Int? = nil, inputTokens: Int? = nil, outputTokens: Int? = nil,
                inputTokensDetails: TokenDetails? = nil, outputTokensDetails: TokenDetails? = nil,
                extra: JSONObject = JSONObject()) {
        self.totalTokens = totalTokens
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.inputTokensDetails = inputTokensDetails
        self.outputTokensDetails = outputTokensDetails
        self.extra = extra
    }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> Usage {
        var r = FieldReader(o, context: context)
        var u = Usage()
        u.totalTokens = try r.optInt("total_tokens")
        u.inputTokens = try r.optInt("input_tokens")
        u.outputTokens = try r.optInt("output_tokens")
        u.inputTokensDetails = try r.optObject("input_tokens_details").map { (o) throws(EventDecodingError) in
            try TokenDetails.decode(o, context.child("input_tokens_details"))
        }
        u.outputTokensDetails = try r.optObject("output_tokens_details").map { (o) throws(EventDecodingError) in
            try TokenDetails.decode(o, context.child("output_tokens_details"))
        }
        u.extra = r.rest
        return u
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("total_tokens", totalTokens)
        w.put("input_tokens", inputTokens)
        w.put("output_tokens", outputTokens)
        w.put("input_tokens_details", inputTokensDetails?.json)
        w.put("output_tokens_details", outputTokensDetails?.json)
        w.extra(extra)
        return .object(w.object)
    }
}

/// The `response` object of response.created / response.done.
public struct ResponseInfo: Sendable, Equatable {
    public var id: String
    public var object: String?
    public var conversationID: String?
    /// `in_progress`, `completed`, `incomplete`, `failed` (and `cancelled` on OpenAI-like servers).
    public var status: String?
    public var modalities: [String]?
    public var voice: String?
    public var outputAudioFormat: String?
    public var output: [ConversationItem]?
    public var usage: Usage?
    public var extra: JSONObject

    public init(id: String, object: String? = "realtime.response", conversationID: String? = nil, status: String? = nil,
                modalities: [String]? = nil, voice: String? = nil, outputAudioFormat: String? = nil,
                output: [ConversationItem]? = nil, usage: Usage? = nil, extra: JSONObject = JSONObject()) {
        self.id = id
        self.object = object
        self.conversationID = conversationID
        self.status = status
        self.modalities = modalities
        self.voice = voice
        self.outputAudioFormat = outputAudioFormat
        self.output = output
        self.usage = usage
        self.extra = extra
    }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> ResponseInfo {
        var r = FieldReader(o, context: context)
        var x = ResponseInfo(id: try r.string("id", default: ""))
        x.object = try r.optString("object")
        x.conversationID = try r.optString("conversation_id")
        x.status = try r.optString("status")
        x.modalities = try r.optStrings("modalities")
        x.voice = try r.optString("voice")
        x.outputAudioFormat = try r.optString("output_audio_format")
        if let a = try r.optArray("output") {
            let oc = context.child("output")
            var items: [ConversationItem] = []
            items.reserveCapacity(a.count)
            for (i, v) in a.enumerated() {
                guard let io = v.objectValue else { throw oc.element(i).bad("an object") }
                items.append(try ConversationItem.decode(io, oc.element(i)))
            }
            x.output = items
        }
        x.usage = try r.optObject("usage").map { (o) throws(EventDecodingError) in try Usage.decode(o, context.child("usage")) }
        x.extra = r.rest
        return x
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("id", id)
        w.put("object", object)
        w.put("conversation_id", conversationID)
        w.put("status", status)
        w.put("modalities", modalities)
        w.put("voice", voice)
        w.put("output_audio_format", outputAudioFormat)
        w.put("output", output.map { JSONValue.array($0.map(\.json)) })
        w.put("usage", usage?.json)
        w.extra(extra)
        return .object(w.object)
    }
}

/// Where a response-scoped event belongs.
public struct ContentRef: Sendable, Equatable {
    public var responseID: String
    public var itemID: String
    public var outputIndex: Int
    public var contentIndex: Int

    public init(responseID: String, itemID: String, outputIndex: Int = 0, contentIndex: Int = 0) {
        self.responseID = responseID
        self.itemID = itemID
        self.outputIndex = outputIndex
        self.contentIndex = contentIndex
    }

    static func read(_ r: inout FieldReader) throws(EventDecodingError) -> ContentRef {
        ContentRef(responseID: try r.string("response_id", default: ""), itemID: try r.string("item_id", default: ""),
                   outputIndex: try r.int("output_index", default: 0), contentIndex: try r.int("content_index", default: 0))
    }

    func write(_ w: inout FieldWriter) {
        w.put("response_id", responseID)
        w.put("item_id", itemID)
        w.put("output_index", outputIndex)
        w.put("content_index", contentIndex)
    }
}
