import RealtimeProtocol

// What omnid sends as `session.update`, built from the config. Field values follow what the
// official SDK sends (protocol §3.1) so the service sees a familiar client.

extension OmniConfig {
    public var sessionUpdate: SessionConfig {
        var s = SessionConfig()
        s.modalities = session.modalities
        s.voice = session.voice
        s.inputAudioFormat = "pcm16"
        // The service guide: "only pcm24 is supported" (the SDK samples send "pcm16"; the session
        // manager falls back to it once if the service refuses this spelling).
        s.outputAudioFormat = "pcm24"
        s.inputAudioTranscription = session.transcription ? .set(InputAudioTranscription(model: .set("gummy-realtime-v1"))) : .null
        switch session.mode {
        case .vad:
            s.turnDetection = .set(TurnDetection(type: "server_vad", threshold: session.vadThreshold,
                                                 prefixPaddingMs: session.vadPrefixPaddingMs,
                                                 silenceDurationMs: session.vadSilenceMs))
        case .pushToTalk, .toggle:
            s.turnDetection = .null
        }
        // Always sent, empty too: after a reload that emptied it, "" is what clears the prompt.
        s.instructions = session.instructions
        return s
    }
}
