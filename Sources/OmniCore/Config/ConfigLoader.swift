import RealtimeProtocol
// Builds an OmniConfig from defaults < board file < omni.conf < environment, validating every key.

public struct LoadedConfig: Sendable {
    public var config: OmniConfig
    public var warnings: [ConfigWarning]
}

/// File access and the TOML parser are injected so tests need no files and the loader stays pure.
public struct ConfigEnvironment: Sendable {
    /// The TOML parser (OmniTOML's `TOMLPlusPlus.parse` everywhere but hand-built test nodes).
    public var parseTOML: TOMLParse
    /// Reads a whole regular file of at most `limit` bytes; anything else is an error with a reason.
    public var read: @Sendable (_ path: String, _ limit: Int) -> Result<String, FileReadFailure>
    /// `stat` mode bits of a file, for the "key file readable by others" warning.
    public var fileMode: @Sendable (String) -> UInt32?
    public var environment: [String: String]
    public var boardDirectory: String

    public init(parseTOML: @escaping TOMLParse,
                read: @escaping @Sendable (_ path: String, _ limit: Int) -> Result<String, FileReadFailure>,
                fileMode: @escaping @Sendable (String) -> UInt32? = { _ in nil },
                environment: [String: String] = [:], boardDirectory: String = "/usr/share/omnid/boards") {
        self.parseTOML = parseTOML
        self.read = read
        self.fileMode = fileMode
        self.environment = environment
        self.boardDirectory = boardDirectory
    }
}

extension ConfigEnvironment {
    /// In-memory files (tests, fuzzing): nil is a missing file; the size limit still applies.
    public init(parseTOML: @escaping TOMLParse, readFile: @escaping @Sendable (String) -> String?,
                fileMode: @escaping @Sendable (String) -> UInt32? = { _ in nil },
                environment: [String: String] = [:], boardDirectory: String = "/usr/share/omnid/boards") {
        self.init(parseTOML: parseTOML, read: { path, limit in
            guard let text = readFile(path) else { return .failure(FileReadFailure("no such file")) }
            guard text.utf8.count <= limit else {
                return .failure(FileReadFailure("is \(text.utf8.count) bytes; the limit is \(limit) bytes"))
            }
            return .success(text)
        }, fileMode: fileMode, environment: environment, boardDirectory: boardDirectory)
    }
}

public enum ConfigLoader {
    public static let knownSections: [String: [String]] = [
        "service": ["region", "url", "model", "api_key_file", "api_key_credential", "ca_file", "allow_insecure",
                    "ping_interval_ms", "dead_link_ms", "max_message_kb", "idle_close_s", "session_cap_s"],
        "session": ["voice", "instructions", "modalities", "mode", "barge_in", "vad_threshold", "vad_silence_ms",
                    "vad_prefix_padding_ms", "transcription"],
        "audio": ["capture", "playback", "period_ms", "buffer_periods", "preroll_ms", "volume", "earcons",
                  "earcon_level", "rt_priority", "capture_rate", "playback_rate", "room", "echo_cancel",
                  "echo_filter_ms", "noise_suppression", "lookback_ms", "ready_sound"],
        "board": ["name", "file", "description"],
        "control": ["socket"],
        "log": ["level", "repeat_interval_ms"],
        "camera": cameraKeys,
    ]
    /// Sections only a board file may hold; their keys are checked by the device layer.
    public static let boardOnlySections = ["button", "leds"]

    public static func load(path: String, env: ConfigEnvironment) throws(ConfigError) -> LoadedConfig {
        switch env.read(path, ConfigLimits.maxFileBytes) {
        case .success(let text): return try load(text: text, path: path, env: env)
        case .failure(let e): throw ConfigError(file: path, line: nil, key: nil, message: "cannot be used as the config file: \(e)")
        }
    }

    public static func load(text: String, path: String, env: ConfigEnvironment) throws(ConfigError) -> LoadedConfig {
        var warnings: [ConfigWarning] = []
        var config = OmniConfig()
        config.sources.configFile = path
        let doc = try ConfigDocument.parse(text: text, file: path, syntax: env.parseTOML)
        try checkKeys(doc, allowBoardSections: false)

        // The board named by omni.conf is applied first so omni.conf can override it.
        var boardDocs: [ConfigDocument] = []
        var boardRef = OmniConfig.Board()
        let r = SectionReader(doc: doc, section: "board")
        boardRef.name = try r.string("name")
        boardRef.file = try r.string("file")
        if let file = boardRef.file ?? boardRef.name.map({ "\(env.boardDirectory)/\($0).toml" }) {
            let boardText: String
            switch env.read(file, ConfigLimits.maxFileBytes) {
            case .success(let text): boardText = text
            case .failure(let e):
                let entry = doc.sections["board"]?[boardRef.file != nil ? "file" : "name"]
                throw ConfigError(file: path, line: entry?.line, key: "board.\(boardRef.file != nil ? "file" : "name")",
                                  message: "board file \(file) cannot be read (\(e)). Board names are looked up in \(env.boardDirectory); "
                                    + "set OMNID_BOARD_DIR to another folder of board files (a checkout's board/), "
                                    + "or give the file itself with [board] file = \"PATH\"")
            }
            let board = try ConfigDocument.parse(text: boardText, file: file, syntax: env.parseTOML)
            boardDocs.append(board)
            try checkKeys(board, allowBoardSections: true)
            try apply(board, to: &config, warnings: &warnings)
            config.sources.boardFile = file
            for s in boardOnlySections { if let sec = board.sections[s] { config.board.sections[s] = sec } }
        }
        try apply(doc, to: &config, warnings: &warnings)
        config.board.name = boardRef.name ?? config.board.name
        config.board.file = config.sources.boardFile

        // Environment beats files.
        if let level = env.environment["OMNID_LOG_LEVEL"], !level.isEmpty {
            guard let l = LogLevelName(rawValue: level) else {
                throw ConfigError(file: "environment", line: nil, key: "OMNID_LOG_LEVEL",
                                  message: "\"\(level)\" is not a level; allowed: \(LogLevelName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.log.level = l
        }
        try checkConnection(config, docs: [doc] + boardDocs)
        try checkCamera(config, docs: [doc] + boardDocs)
        try checkRoom(config, docs: [doc] + boardDocs, env: env)
        try resolveAPIKey(&config, doc: doc, env: env, warnings: &warnings)
        return LoadedConfig(config: config, warnings: warnings)
    }

    /// What `run` would refuse later is refused here, so `check-config` and `run` agree: the URL
    /// must parse as the transport parses it, and plain ws:// needs a loopback host or
    /// `allow_insecure` (the transport refuses it otherwise and would retry forever).
    static func checkConnection(_ c: OmniConfig, docs: [ConfigDocument]) throws(ConfigError) {
        // The entry that set the URL: omni.conf wins over the board file, as when applying.
        let entry = docs.lazy.compactMap { $0.sections["service"]?["url"] }.first
        func fail(_ message: String) -> ConfigError {
            ConfigError(file: entry?.file ?? docs[0].file, line: entry?.line, key: "service.url", message: message)
        }
        let url: WebSocketURL
        do {
            url = try WebSocketURL(parsing: c.service.effectiveURL)
        } catch {
            throw fail("\(c.service.effectiveURL): \(error)")
        }
        if !url.secure, !url.isLoopback, !c.service.allowInsecure {
            throw fail("plain ws:// to \(url.host), which is not this machine, would send the API key unencrypted; "
                       + "use wss://, or set [service] allow_insecure = true for a trusted test network")
        }
    }

    static func checkKeys(_ doc: ConfigDocument, allowBoardSections: Bool) throws(ConfigError) {
        let sections = Array(knownSections.keys) + (allowBoardSections ? boardOnlySections : [])
        for (section, entries) in doc.sections.sorted(by: { $0.key < $1.key }) {
            if section.isEmpty {
                // Top-level keys, or a table named "" (`['']`, found by fuzzing) with none.
                guard let (key, entry) = entries.min(by: { $0.value.line < $1.value.line }) else {
                    throw ConfigError(file: doc.file, line: doc.sectionLines[""], key: nil,
                                      message: "[\"\"]: a section needs a name such as [service] or [session]")
                }
                throw ConfigError(file: doc.file, line: entry.line, key: key,
                                  message: "keys belong in a section such as [service] or [session]")
            }
            guard sections.contains(section) else {
                var msg = "unknown section [\(section)]"
                if let s = DidYouMean.suggest(section, among: sections) { msg += "; did you mean [\(s)]?" }
                throw ConfigError(file: doc.file, line: doc.sectionLines[section], key: nil, message: msg)
            }
            guard let known = knownSections[section] else { continue }
            for (key, entry) in entries.sorted(by: { $0.value.line < $1.value.line }) where !known.contains(key) {
                var msg = "unknown key"
                if let s = DidYouMean.suggest(key, among: known) { msg += "; did you mean \(s)?" }
                else { msg += "; [\(section)] takes \(known.joined(separator: ", "))" }
                throw ConfigError(file: doc.file, line: entry.line, key: "\(section).\(key)", message: msg)
            }
        }
    }

    static func apply(_ doc: ConfigDocument, to c: inout OmniConfig, warnings: inout [ConfigWarning]) throws(ConfigError) {
        let s = SectionReader(doc: doc, section: "service")
        if let v = try s.choice("region", ServiceRegion.self) { c.service.region = v }
        if let v = try s.string("url") {
            guard v.hasPrefix("wss://") || v.hasPrefix("ws://") else {
                throw s.error("url", "must start with wss:// (or ws:// for a local server)")
            }
            c.service.url = v
        }
        if let v = try s.string("model") { c.service.model = v }
        if let v = try s.string("api_key_file") { c.service.apiKeyFile = v }
        if let v = try s.string("api_key_credential") { c.service.apiKeyCredential = v }
        if let v = try s.string("ca_file") { c.service.caFile = v }
        if let v = try s.bool("allow_insecure") { c.service.allowInsecure = v }
        if let v = try s.int("ping_interval_ms", 1000...60_000) { c.service.pingIntervalMs = v }
        if let v = try s.int("dead_link_ms", 2000...300_000) { c.service.deadLinkMs = v }
        if let v = try s.int("max_message_kb", 64...65_536) { c.service.maxMessageKB = v }
        if let v = try s.int("idle_close_s", 0...86_400) { c.service.idleCloseS = v }
        if let v = try s.int("session_cap_s", 0...604_800) { c.service.sessionCapS = v }

        let se = SectionReader(doc: doc, section: "session")
        if let v = try se.string("voice") {
            if v.isEmpty { throw se.error("voice", "must not be empty; e.g. \"Cherry\"") }
            if !RealtimeVoices.flash.contains(v) {
                var msg = "\"\(v)\" is not a voice listed for \(c.service.model); the service may still accept it"
                if let sug = DidYouMean.suggest(v, among: RealtimeVoices.flash) { msg += " (did you mean \(sug)?)" }
                warnings.append(se.error("voice", msg))
            }
            c.session.voice = v
        }
        if let v = try se.string("instructions") { c.session.instructions = v }
        if let v = try se.strings("modalities") {
            let set = Set(v)
            guard set == ["text"] || set == ["text", "audio"], v.count == set.count else {
                throw se.error("modalities", "must be [\"text\"] or [\"text\", \"audio\"]")
            }
            c.session.modalities = v
        }
        if let v = try se.choice("mode", InteractionMode.self) { c.session.mode = v }
        if let v = try se.choice("barge_in", BargeInMode.self) { c.session.bargeIn = v }
        if let v = try se.double("vad_threshold", -1.0...1.0) { c.session.vadThreshold = v }
        if let v = try se.int("vad_silence_ms", 200...6000) { c.session.vadSilenceMs = v }
        if let v = try se.int("vad_prefix_padding_ms", 0...5000) { c.session.vadPrefixPaddingMs = v }
        if let v = try se.bool("transcription") { c.session.transcription = v }

        let a = SectionReader(doc: doc, section: "audio")
        if let v = try a.string("capture") { c.audio.capture = v }
        if let v = try a.string("playback") { c.audio.playback = v }
        if let v = try a.int("period_ms", 5...100) { c.audio.periodMs = v }
        if let v = try a.int("buffer_periods", 2...16) { c.audio.bufferPeriods = v }
        if let v = try a.int("preroll_ms", 0...1000) { c.audio.prerollMs = v }
        if let v = try a.double("volume", 0.0...2.0) { c.audio.volume = v }
        if let v = try a.bool("earcons") { c.audio.earcons = v }
        if let v = try a.double("earcon_level", 0.0...1.0) { c.audio.earconLevel = v }
        if let v = try a.int("rt_priority", 0...99) { c.audio.rtPriority = v }
        if let v = try a.int("capture_rate", 8000...192_000) { c.audio.captureRate = v }
        if let v = try a.int("playback_rate", 8000...192_000) { c.audio.playbackRate = v }
        try applyEcho(a, to: &c.audio)

        let b = SectionReader(doc: doc, section: "board")
        if let v = try b.string("description") { c.board.description = v }
        if let v = try b.string("name"), c.board.name == nil { c.board.name = v }

        let ctl = SectionReader(doc: doc, section: "control")
        if let v = try ctl.string("socket") {
            guard v.hasPrefix("/") else { throw ctl.error("socket", "must be an absolute path, e.g. /run/omnid/control.sock") }
            // The server binds `PATH.new` and renames it into place; both must fit sun_path.
            let longest = v.utf8.count + UnixSocketPath.temporarySuffix.utf8.count
            guard longest <= UnixSocketPath.maxBytes else {
                throw ctl.error("socket", "is \(v.utf8.count) bytes; a control socket path may be at most "
                                + "\(UnixSocketPath.maxBytes - UnixSocketPath.temporarySuffix.utf8.count) bytes (Unix socket address limit)")
            }
            c.control.socket = v
        }

        let l = SectionReader(doc: doc, section: "log")
        if let v = try l.choice("level", LogLevelName.self) { c.log.level = v }
        if let v = try l.int("repeat_interval_ms", 100...3_600_000) { c.log.repeatIntervalMs = v }

        try applyCamera(doc, to: &c.camera)
    }

    static func resolveAPIKey(_ c: inout OmniConfig, doc: ConfigDocument, env: ConfigEnvironment,
                              warnings: inout [ConfigWarning]) throws(ConfigError) {
        if let k = env.environment["DASHSCOPE_API_KEY"], !k.isEmpty {
            c.apiKey = APIKey(k)
            c.sources.apiKeySource = "environment DASHSCOPE_API_KEY"
            return
        }
        if let dir = env.environment["CREDENTIALS_DIRECTORY"] {
            let path = "\(dir)/\(c.service.apiKeyCredential)"
            if let k = try? env.read(path, ConfigLimits.maxKeyFileBytes).get().trimmingSpacesAndNewlines(), !k.isEmpty {
                c.apiKey = APIKey(k)
                c.sources.apiKeySource = "systemd credential \(c.service.apiKeyCredential)"
                return
            }
        }
        if let file = c.service.apiKeyFile {
            let entry = doc.sections["service"]?["api_key_file"]
            let k: String
            switch env.read(file, ConfigLimits.maxKeyFileBytes) {
            case .success(let text): k = text.trimmingSpacesAndNewlines()
            case .failure(let e):
                throw ConfigError(file: entry?.file ?? doc.file, line: entry?.line, key: "service.api_key_file",
                                  message: "\(file) cannot be read (\(e)); it must hold the DashScope API key")
            }
            guard !k.isEmpty else {
                throw ConfigError(file: entry?.file ?? doc.file, line: entry?.line, key: "service.api_key_file",
                                  message: "\(file) is empty; it must hold the DashScope API key")
            }
            if let mode = env.fileMode(file), mode & 0o044 != 0 {
                warnings.append(ConfigError(file: entry?.file ?? doc.file, line: entry?.line, key: "service.api_key_file",
                                            message: "\(file) is readable by other users; run chmod 600 (or 640 root:omnid)"))
            }
            c.apiKey = APIKey(k)
            c.sources.apiKeySource = "file \(file)"
        }
    }
}

/// Typed reads of one section, with errors that carry the entry's file and line.
struct SectionReader {
    let doc: ConfigDocument
    let section: String

    func entry(_ key: String) -> ConfigEntry? { doc.sections[section]?[key] }

    func error(_ key: String, _ message: String) -> ConfigError {
        let e = entry(key)
        return ConfigError(file: e?.file ?? doc.file, line: e?.line, key: "\(section).\(key)", message: message)
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let e = entry(key) else { return nil }
        guard case .string(let s) = e.value else { throw error(key, "must be a string, got \(e.value)") }
        let limit = section == "session" && key == "instructions" ? ConfigLimits.maxInstructionsBytes : ConfigLimits.maxStringBytes
        guard s.utf8.count <= limit else { throw error(key, "is \(s.utf8.count) bytes long; at most \(limit) bytes are allowed") }
        return s
    }

    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let e = entry(key) else { return nil }
        guard case .array(let a) = e.value else { throw error(key, "must be an array of strings, got \(e.value)") }
        var out: [String] = []
        for v in a {
            guard case .string(let s) = v else { throw error(key, "must be an array of strings, got \(e.value)") }
            out.append(s)
        }
        return out
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let e = entry(key) else { return nil }
        guard case .bool(let b) = e.value else { throw error(key, "must be true or false, got \(e.value)") }
        return b
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let e = entry(key) else { return nil }
        guard case .int(let i) = e.value else {
            throw error(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(e.value)")
        }
        guard range.contains(i) else {
            throw error(key, "\(i) is out of range; allowed \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    func double(_ key: String, _ range: ClosedRange<Double>) throws(ConfigError) -> Double? {
        guard let e = entry(key) else { return nil }
        let d: Double
        switch e.value {
        case .double(let x): d = x
        case .int(let i): d = Double(i)
        default: throw error(key, "must be a number from \(range.lowerBound) to \(range.upperBound), got \(e.value)")
        }
        guard range.contains(d) else {
            throw error(key, "\(d) is out of range; allowed \(range.lowerBound) to \(range.upperBound)")
        }
        return d
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(ConfigError) -> T?
    where T.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let v = T(rawValue: s) else {
            let allowed = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            var msg = "\"\(s)\" is not allowed; allowed: \(allowed)"
            if let sug = DidYouMean.suggest(s, among: T.allCases.map(\.rawValue)) { msg += " (did you mean \"\(sug)\"?)" }
            throw error(key, msg)
        }
        return v
    }
}

extension String {
    func trimmingSpacesAndNewlines() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
