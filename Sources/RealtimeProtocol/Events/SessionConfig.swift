// The `session` object of session.update / session.created / session.updated (protocol §3.1,
// §4.2–4.3). Client-set fields are typed; server bookkeeping and newer-model fields stay in `extra`.

public struct TurnDetection: Sendable, Equatable {
    public var type: String
    public var threshold: Double?
    public var prefixPaddingMs: Int?
    public var silenceDurationMs: Int?
    public var createResponse: Bool?
    public var interruptResponse: Bool?
    public var extra: JSONObject

    public init(type: String = "server_vad", threshold: Double? = nil, prefixPaddingMs: Int? = nil,
                silenceDurationMs: Int? = nil, createResponse: Bool? = nil, interruptResponse: Bool? = nil,
                extra: JSONObject = JSONObject()) {
        self.type = type
        self.threshold = threshold
        self.prefixPaddingMs = prefixPaddingMs
        self.silenceDurationMs = silenceDurationMs
        self.createResponse = createResponse
        self.interruptResponse = interruptResponse
        self.extra = extra
    }

    static func decode(_ v: JSONValue, _ context: FieldContext) throws(EventDecodingError) -> TurnDetection? {
        guard let o = v.objectValue else { return nil }
        var r = FieldReader(o, context: context)
        let t = TurnDetection(
            type: try r.string("type", default: "server_vad"),
            threshold: try r.optDouble("threshold"),
            prefixPaddingMs: try r.optInt("prefix_padding_ms"),
            silenceDurationMs: try r.optInt("silence_duration_ms"),
            createResponse: try r.optBool("create_response"),
            interruptResponse: try r.optBool("interrupt_response"),
            extra: JSONObject())
        var out = t
        out.extra = r.rest
        return out
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("type", type)
        w.put("threshold", threshold)
        w.put("prefix_padding_ms", prefixPaddingMs)
        w.put("silence_duration_ms", silenceDurationMs)
        w.put("create_response", createResponse)
        w.put("interrupt_response", interruptResponse)
        w.extra(extra)
        return .object(w.object)
    }
}

public struct InputAudioTranscription: Sendable, Equatable {
    /// `{"model": null}` (what the SDK sends) is `.null`; a missing key is `.unset`.
    public var model: Setting<String>
    public var extra: JSONObject

    public init(model: Setting<String> = .unset, extra: JSONObject = JSONObject()) {
        self.model = model
        self.extra = extra
    }

    static func decode(_ v: JSONValue, _ context: FieldContext) throws(EventDecodingError) -> InputAudioTranscription? {
        guard let o = v.objectValue else { return nil }
        var r = FieldReader(o, context: context)
        let model: Setting<String> = try r.setting("model") { $0.stringValue }
        return InputAudioTranscription(model: model, extra: r.rest)
    }

    var json: JSONValue {
        var w = FieldWriter()
        w.put("model", model) { .string($0) }
        w.extra(extra)
        return .object(w.object)
    }
}

public struct SessionConfig: Sendable, Equatable {
    // Server bookkeeping (session.created / updated).
    public var id: String?
    public var object: String?
    public var model: String?
    // What a client sets.
    public var modalities: [String]?
    public var voice: String?
    public var inputAudioFormat: String?
    public var outputAudioFormat: String?
    public var inputAudioTranscription: Setting<InputAudioTranscription>
    /// `.null` = manual (push-to-talk) mode; `.unset` = the server's default VAD.
    public var turnDetection: Setting<TurnDetection>
    public var instructions: String?
    public var smoothOutput: Setting<Bool>
    public var temperature: Double?
    public var topP: Double?
    public var topK: Setting<Int>
    public var maxTokens: Int?
    public var repetitionPenalty: Double?
    public var presencePenalty: Double?
    public var seed: Int?
    public var extra: JSONObject

    public init(id: String? = nil, object: String? = nil, model: String? = nil, modalities: [String]? = nil,
                voice: String? = nil, inputAudioFormat: String? = nil, outputAudioFormat: String? = nil,
                inputAudioTranscription: Setting<InputAudioTranscription> = .unset,
                turnDetection: Setting<TurnDetection> = .unset, instructions: String? = nil,
                smoothOutput: Setting<Bool> = .unset, temperature: Double? = nil, topP: Double? = nil,
                topK: Setting<Int> = .unset, maxTokens: Int? = nil, repetitionPenalty: Double? = nil,
                presencePenalty: Double? = nil, seed: Int? = nil, extra: JSONObject = JSONObject()) {
        self.id = id
        self.object = object
        self.model = model
        self.modalities = modalities
        self.voice = voice
        self.inputAudioFormat = inputAudioFormat
        self.outputAudioFormat = outputAudioFormat
        self.inputAudioTranscription = inputAudioTranscription
        self.turnDetection = turnDetection
        self.instructions = instructions
        self.smoothOutput = smoothOutput
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxTokens = maxTokens
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.seed = seed
        self.extra = extra
    }

    /// Decodes a bare `session` object (errors name the event `session`).
    public static func decode(_ o: JSONObject) throws(EventDecodingError) -> SessionConfig {
        try decode(o, FieldContext(event: "session", path: ""))
    }

    static func decode(_ o: JSONObject, _ context: FieldContext) throws(EventDecodingError) -> SessionConfig {
        var r = FieldReader(o, context: context)
        var s = SessionConfig()
        s.object = try r.optString("object")
        s.model = try r.optString("model")
        s.modalities = try r.optStrings("modalities")
        s.voice = try r.optString("voice")
        s.inputAudioFormat = try r.optString("input_audio_format")
        s.outputAudioFormat = try r.optString("output_audio_format")
        s.inputAudioTranscription = try r.setting("input_audio_transcription", InputAudioTranscription.decode)
        s.turnDetection = try r.setting("turn_detection", TurnDetection.decode)
        s.instructions = try r.optString("instructions")
        s.smoothOutput = try r.setting("smooth_output") { $0.boolValue }
        s.temperature = try r.optDouble("temperature")
        s.topP = try r.optDouble("top_p")
        s.topK = try r.setting("top_k") { $0.intValue }
        s.maxTokens = try r.optInt("max_tokens")
        s.repetitionPenalty = try r.optDouble("repetition_penalty")
        s.presencePenalty = try r.optDouble("presence_penalty")
        s.seed = try r.optInt("seed")
        s.id = try r.optString("id")
        s.extra = r.rest
        return s
    }

    /// Key order follows what the official SDK emits for the client fields.
    public var json: JSONObject {
        var w = FieldWriter()
        w.put("object", object)
        w.put("model", model)
        w.put("modalities", modalities)
        w.put("voice", voice)
        w.put("input_audio_format", inputAudioFormat)
        w.put("output_audio_format", outputAudioFormat)
        w.put("input_audio_transcription", inputAudioTranscription) { $0.json }
        w.put("turn_detection", turnDetection) { $0.json }
        w.put("instructions", instructions)
        w.put("smooth_output", smoothOutput) { .bool($0) }
        w.put("temperature", temperature)
        w.put("top_p", topP)
        w.put("top_k", topK) { .int(Int64($0)) }
        w.put("max_tokens", maxTokens)
        w.put("repetition_penalty", repetitionPenalty)
        w.put("presence_penalty", presencePenalty)
        w.put("seed", seed)
        w.put("id", id)
        w.extra(extra)
        return w.object
    }

    /// Applies the fields `update` sets on top of `self` (fields not sent keep their value).
    /// `.null` in a tri-state field is a value (e.g. `turn_detection: null` = manual mode) and
    /// replaces; `turn_detection` and `input_audio_transcription` are replaced as a whole, as the
    /// service echoes them. Unknown fields of `update` are merged key by key into `extra`.
    public func merged(with update: SessionConfig) -> SessionConfig {
        var s = self
        if let v = update.id { s.id = v }
        if let v = update.object { s.object = v }
        if let v = update.model { s.model = v }
        if let v = update.modalities { s.modalities = v }
        if let v = update.voice { s.voice = v }
        if let v = update.inputAudioFormat { s.inputAudioFormat = v }
        if let v = update.outputAudioFormat { s.outputAudioFormat = v }
        if update.inputAudioTranscription != .unset { s.inputAudioTranscription = update.inputAudioTranscription }
        if update.turnDetection != .unset { s.turnDetection = update.turnDetection }
        if let v = update.instructions { s.instructions = v }
        if update.smoothOutput != .unset { s.smoothOutput = update.smoothOutput }
        if let v = update.temperature { s.temperature = v }
        if let v = update.topP { s.topP = v }
        if update.topK != .unset { s.topK = update.topK }
        if let v = update.maxTokens { s.maxTokens = v }
        if let v = update.repetitionPenalty { s.repetitionPenalty = v }
        if let v = update.presencePenalty { s.presencePenalty = v }
        if let v = update.seed { s.seed = v }
        for e in update.extra.entries { s.extra[e.key] = e.value }
        return s
    }
}
