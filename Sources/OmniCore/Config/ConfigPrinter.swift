// `omnid check-config` output: the effective configuration as TOML, with the key redacted and
// the origin of the key and board shown as comments.

extension OmniConfig {
    public var effectiveTOML: String {
        func q(_ s: String) -> String { "\"" + escaped(s) + "\"" }
        func list(_ a: [String]) -> String { "[" + a.map(q).joined(separator: ", ") + "]" }
        var lines: [String] = []
        // Paths come from the user: escaped like strings, so a control character cannot end the
        // comment and turn the rest into TOML (found by fuzzing).
        if let f = sources.configFile { lines.append("# config: \(escaped(f))") }
        if let b = sources.boardFile { lines.append("# board:  \(escaped(b))") }
        lines.append("# api key: " + (apiKey == nil ? "none" : "<redacted> (from \(escaped(sources.apiKeySource ?? "?")))"))
        lines.append("")
        lines.append("[service]")
        lines.append("region = \(q(service.region.rawValue))")
        lines.append("url = \(q(service.effectiveURL))")
        lines.append("model = \(q(service.model))")
        if let f = service.apiKeyFile { lines.append("api_key_file = \(q(f))") }
        lines.append("api_key_credential = \(q(service.apiKeyCredential))")
        if let f = service.caFile { lines.append("ca_file = \(q(f))") }
        lines.append("allow_insecure = \(service.allowInsecure)")
        lines.append("ping_interval_ms = \(service.pingIntervalMs)")
        lines.append("dead_link_ms = \(service.deadLinkMs)")
        lines.append("max_message_kb = \(service.maxMessageKB)")
        lines.append("idle_close_s = \(service.idleCloseS)")
        lines.append("session_cap_s = \(service.sessionCapS)")
        lines.append("")
        lines.append("[session]")
        lines.append("voice = \(q(session.voice))")
        lines.append("instructions = \(q(session.instructions))")
        lines.append("modalities = \(list(session.modalities))")
        lines.append("mode = \(q(session.mode.rawValue))")
        lines.append("barge_in = \(q(session.bargeIn.rawValue))")
        lines.append("vad_threshold = \(session.vadThreshold)")
        lines.append("vad_silence_ms = \(session.vadSilenceMs)")
        lines.append("vad_prefix_padding_ms = \(session.vadPrefixPaddingMs)")
        lines.append("transcription = \(session.transcription)")
        lines.append("")
        lines.append("[audio]")
        lines.append("capture = \(q(audio.capture))")
        lines.append("playback = \(q(audio.playback))")
        lines.append("period_ms = \(audio.periodMs)")
        lines.append("buffer_periods = \(audio.bufferPeriods)")
        lines.append("preroll_ms = \(audio.prerollMs)")
        lines.append("volume = \(audio.volume)")
        lines.append("earcons = \(audio.earcons)")
        lines.append("earcon_level = \(audio.earconLevel)")
        lines.append("rt_priority = \(audio.rtPriority)")
        if let r = audio.captureRate { lines.append("capture_rate = \(r)") }
        if let r = audio.playbackRate { lines.append("playback_rate = \(r)") }
        lines.append("echo_cancel = \(q(audio.echoCancel.rawValue))")
        lines.append("echo_filter_ms = \(audio.echoFilterMs)")
        lines.append("noise_suppression = \(audio.noiseSuppression)")
        lines.append("ready_sound = \(q(audio.readySound.rawValue))")
        if let r = audio.room { lines.append("room = \(q(r.description))") }
        lines.append("lookback_ms = \(audio.lookbackMs)")
        lines.append("")
        lines.append("[board]")
        if let n = board.name { lines.append("name = \(q(n))") }
        if let f = board.file { lines.append("file = \(q(f))") }
        lines.append("")
        lines.append("[control]")
        lines.append("socket = \(q(control.socket))")
        lines.append("")
        lines.append("[log]")
        lines.append("level = \(q(log.level.rawValue))")
        lines.append("repeat_interval_ms = \(log.repeatIntervalMs)")
        lines.append("")
        lines += ConfigLoader.cameraTOML(camera, quote: q)
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A TOML basic-string body: quotes and backslashes escaped, every control character (which
/// TOML forbids raw in a basic string) as an escape, so the output always parses back.
func escaped(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case _ where c.value < 0x20 || c.value == 0x7F:
            let hex = String(c.value, radix: 16, uppercase: true)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
