import RealtimeProtocol

// The effective session configuration of one connection: defaults as the service reports them
// in `session.created` (protocol §4.2), `session.update` validated and merged, and the echo
// sent back in `session.updated` (§4.3).

/// The outcome of a `session.update`: the new state, or the `error` to answer with.
public enum UpdateOutcome: Sendable, Equatable {
    case accepted(ServedSessionConfig)
    case rejected(ErrorDetail)
}

public struct TurnDetectionState: Sendable, Equatable {
    public var threshold = 0.5
    public var prefixPaddingMs = 300
    public var silenceDurationMs = 800
    public var createResponse = true
    public var interruptResponse = true

    public init() {}
}

public struct ServedSessionConfig: Sendable, Equatable {
    /// The voices the service knows (RealtimeProtocol's one list).
    public static let voices = Set(RealtimeVoices.flash)
    /// Every format string in official material means the fixed PCM formats (protocol §3.1).
    public static let audioFormats: Set<String> = ["pcm", "pcm16", "pcm24"]
    /// What the service echoes whatever the client asked for (transcription model is fixed).
    public static let transcriptionModel = "qwen3-asr-flash-realtime"

    public var modalities = ["text", "audio"]
    public var voice = "Cherry"
    public var inputAudioFormat = "pcm"
    public var outputAudioFormat = "pcm"
    public var transcriptionEnabled = true
    /// nil = manual (push-to-talk) mode.
    public var turnDetection: TurnDetectionState? = TurnDetectionState()
    public var instructions: String?
    public var smoothOutput: Setting<Bool> = .unset
    public var temperature = 0.8
    public var topP = 1.0
    public var topK: Setting<Int> = .set(50)
    public var maxTokens = 16_384
    public var repetitionPenalty = 1.05
    public var presencePenalty = 0.0
    public var seed = -1

    public init() {}

    public var outputsAudio: Bool { modalities.contains("audio") }

    /// The state after `update`, or the error the service answers with (the session then keeps
    /// its previous configuration). `voiceLocked`: audio has already been produced.
    public func applying(_ u: SessionConfig, voiceLocked: Bool, rejectedOutputFormats: Set<String> = []) -> UpdateOutcome {
        var s = self
        if let m = u.modalities {
            guard Self.validModalities(m) else { return .rejected(SimError.invalidModalities(m)) }
            s.modalities = m
        }
        if let v = u.voice {
            guard Self.voices.contains(v) else {
                return .rejected(SimError.invalidValue("Invalid voice: '\(v)'.", param: "session.voice"))
            }
            if voiceLocked && v != voice { return .rejected(SimError.cannotUpdateVoice) }
            s.voice = v
        }
        for (value, key) in [(u.inputAudioFormat, "input_audio_format"), (u.outputAudioFormat, "output_audio_format")] {
            if let f = value, !Self.audioFormats.contains(f) {
                return .rejected(SimError.invalidValue(
                    "Invalid \(key): '\(f)'. Supported formats are 'pcm', 'pcm16' and 'pcm24'.", param: "session.\(key)"))
            }
        }
        if let f = u.outputAudioFormat, rejectedOutputFormats.contains(f) {
            let ok = Self.audioFormats.subtracting(rejectedOutputFormats).sorted().map { "'\($0)'" }.joined(separator: ", ")
            return .rejected(SimError.invalidValue("Invalid output_audio_format: '\(f)'. Supported formats are \(ok).",
                                                   param: "session.output_audio_format"))
        }
        if let f = u.inputAudioFormat { s.inputAudioFormat = f }
        if let f = u.outputAudioFormat { s.outputAudioFormat = f }
        switch u.inputAudioTranscription {
        case .unset: break
        case .null: s.transcriptionEnabled = false
        case .set: s.transcriptionEnabled = true
        }
        switch u.turnDetection {
        case .unset: break
        case .null: s.turnDetection = nil
        case .set(let td):
            switch merge(td) {
            case .accepted(let t): s.turnDetection = t
            case .rejected(let e): return .rejected(e)
            }
        }
        if let i = u.instructions { s.instructions = i }
        if u.smoothOutput != .unset { s.smoothOutput = u.smoothOutput }
        if let e = Self.checkSampling(u) { return .rejected(e) }
        if let v = u.temperature { s.temperature = v }
        if let v = u.topP { s.topP = v }
        if u.topK != .unset { s.topK = u.topK }
        if let v = u.maxTokens { s.maxTokens = v }
        if let v = u.repetitionPenalty { s.repetitionPenalty = v }
        if let v = u.presencePenalty { s.presencePenalty = v }
        if let v = u.seed { s.seed = v }
        return .accepted(s)
    }

    /// `["text"]` or text+audio in either order.
    public static func validModalities(_ m: [String]) -> Bool {
        m == ["text"] || (m.count == 2 && Set(m) == ["text", "audio"])
    }

    enum TDOutcome {
        case accepted(TurnDetectionState)
        case rejected(ErrorDetail)
    }

    /// Fields the client leaves out keep their current value (or the default when VAD was off).
    private func merge(_ td: TurnDetection) -> TDOutcome {
        func bad(_ key: String, _ value: String, _ range: String) -> TDOutcome {
            .rejected(SimError.invalidValue("Invalid value for turn_detection.\(key): \(value). Expected \(range).",
                                            param: "session.turn_detection.\(key)"))
        }
        guard td.type == "server_vad" else { return bad("type", "'\(td.type)'", "'server_vad'") }
        var t = turnDetection ?? TurnDetectionState()
        if let v = td.threshold {
            guard v >= -1, v <= 1 else { return bad("threshold", "\(v)", "a number in [-1.0, 1.0]") }
            t.threshold = v
        }
        if let v = td.silenceDurationMs {
            guard (200...6000).contains(v) else { return bad("silence_duration_ms", "\(v)", "an integer in [200, 6000]") }
            t.silenceDurationMs = v
        }
        if let v = td.prefixPaddingMs {
            guard (0...6000).contains(v) else { return bad("prefix_padding_ms", "\(v)", "an integer in [0, 6000]") }
            t.prefixPaddingMs = v
        }
        if let v = td.createResponse { t.createResponse = v }
        if let v = td.interruptResponse { t.interruptResponse = v }
        return .accepted(t)
    }

    /// Ranges from the client-events table (protocol §3.1).
    private static func checkSampling(_ u: SessionConfig) -> ErrorDetail? {
        func bad(_ key: String, _ value: String, _ range: String) -> ErrorDetail {
            SimError.invalidValue("Invalid value for \(key): \(value). Expected \(range).", param: "session.\(key)")
        }
        if let v = u.temperature, !(v >= 0 && v < 2) { return bad("temperature", "\(v)", "a number in [0, 2)") }
        if let v = u.topP, !(v > 0 && v <= 1) { return bad("top_p", "\(v)", "a number in (0, 1.0]") }
        if case .set(let v) = u.topK, v < 0 { return bad("top_k", "\(v)", "an integer >= 0") }
        if let v = u.maxTokens, !(1...16_384).contains(v) { return bad("max_tokens", "\(v)", "an integer in [1, 16384]") }
        if let v = u.repetitionPenalty, !(v > 0) { return bad("repetition_penalty", "\(v)", "a number > 0") }
        if let v = u.presencePenalty, !(v >= -2 && v <= 2) {
            return bad("presence_penalty", "\(v)", "a number in [-2.0, 2.0]")
        }
        if let v = u.seed, !(-1...2_147_483_647).contains(v) { return bad("seed", "\(v)", "an integer in [-1, 2^31-1]") }
        return nil
    }

    // MARK: echo

    private var transcriptionSetting: Setting<InputAudioTranscription> {
        transcriptionEnabled ? .set(InputAudioTranscription(model: .set(Self.transcriptionModel))) : .null
    }

    private var turnDetectionSetting: Setting<TurnDetection> {
        guard let t = turnDetection else { return .null }
        return .set(TurnDetection(type: "server_vad", threshold: t.threshold, prefixPaddingMs: t.prefixPaddingMs,
                                  silenceDurationMs: t.silenceDurationMs, createResponse: t.createResponse,
                                  interruptResponse: t.interruptResponse))
    }

    /// The `session` of `session.created` (the short form of protocol §4.2).
    public func createdConfig(id: String, model: String) -> SessionConfig {
        SessionConfig(id: id, object: "realtime.session", model: model, modalities: modalities, voice: voice,
                      inputAudioFormat: inputAudioFormat, outputAudioFormat: outputAudioFormat,
                      inputAudioTranscription: transcriptionSetting, turnDetection: turnDetectionSetting,
                      instructions: instructions, temperature: temperature,
                      extra: ["tools": [], "tool_choice": "auto"])
    }

    /// The `session` of `session.updated`: the full effective configuration (protocol §4.3).
    public func updatedConfig(id: String, model: String) -> SessionConfig {
        SessionConfig(id: id, object: "realtime.session", model: model, modalities: modalities, voice: voice,
                      inputAudioFormat: inputAudioFormat, outputAudioFormat: outputAudioFormat,
                      inputAudioTranscription: transcriptionSetting, turnDetection: turnDetectionSetting,
                      instructions: instructions, smoothOutput: smoothOutput, temperature: temperature, topP: topP,
                      topK: topK, maxTokens: maxTokens, repetitionPenalty: repetitionPenalty,
                      presencePenalty: presencePenalty, seed: seed,
                      extra: ["tools": [], "tool_choice": "auto", "max_response_output_token": "inf"])
    }
}
