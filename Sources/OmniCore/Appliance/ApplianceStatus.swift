// What `omnid ctl status` shows: the controller fills one of these from the machine, the session
// manager and the audio engine; the control socket sends it as one JSON line.

import RealtimeProtocol

public struct ApplianceStatus: Sendable, Equatable {
    public struct Counters: Sendable, Equatable {
        public var turns = 0
        public var answered = 0
        public var failed = 0
        public var cancelled = 0
        public var replayed = 0
        public var bargeIns = 0
        public var reconnects = 0
        public var droppedFrames = 0
        public var xruns = 0
        public var underruns = 0
        /// Turns sent again, whole, to a session that replaced theirs quietly.
        public var resent = 0
        /// Answers cancelled for their length or for running far ahead of the speaker.
        public var answersCut = 0
        /// Answer deltas whose audio was not valid Base64 (dropped).
        public var invalidAudio = 0
        /// Failed turns by cause (`TurnFailure` raw values); the sum is `failed`.
        public var failedByCause: [String: Int] = [:]

        public init() {}
    }

    /// The realtime session on the service's rules (from the session manager's counters).
    public struct Session: Sendable, Equatable {
        /// Age of the current session (nil while there is none).
        public var age: Duration?
        /// Sessions we replaced before the service's idle close / cap, or for a reload.
        public var renewals = 0
        /// Sessions the service closed on its rules, replaced quietly.
        public var routineCloses = 0
        /// Link losses the user could see (offline).
        public var outages = 0

        public init(age: Duration? = nil, renewals: Int = 0, routineCloses: Int = 0, outages: Int = 0) {
            self.age = age
            self.renewals = renewals
            self.routineCloses = routineCloses
            self.outages = outages
        }
    }

    public var state: ApplianceState
    public var mode: InteractionMode
    public var muted: Bool
    /// The session manager's phase (`ready`, `connecting`, `waitingToReconnect`, …).
    public var connection: String
    public var counters: Counters
    public var session = Session()
    public var lastTurn: ApplianceTurnLatencies?
    /// The microphone's echo handling (EchoStatus.swift); nil when the daemon did not say.
    public var echo: EchoStatus?

    public init(state: ApplianceState, mode: InteractionMode, muted: Bool = false, connection: String,
                counters: Counters = Counters(), lastTurn: ApplianceTurnLatencies? = nil) {
        self.state = state
        self.mode = mode
        self.muted = muted
        self.connection = connection
        self.counters = counters
        self.lastTurn = lastTurn
    }

    /// One JSON object, no newline:
    /// `{"state":"ready","mode":"push-to-talk","muted":false,"connection":"ready","counters":{…},"last_turn":{…}|null}`
    /// Latencies are milliseconds (with fractions), null when not measured.
    public var json: String {
        var c = JSONObject()
        c.append("turns", .int(Int64(counters.turns)))
        c.append("answered", .int(Int64(counters.answered)))
        c.append("failed", .int(Int64(counters.failed)))
        c.append("cancelled", .int(Int64(counters.cancelled)))
        c.append("replayed", .int(Int64(counters.replayed)))
        c.append("barge_ins", .int(Int64(counters.bargeIns)))
        c.append("reconnects", .int(Int64(counters.reconnects)))
        c.append("dropped_frames", .int(Int64(counters.droppedFrames)))
        c.append("xruns", .int(Int64(counters.xruns)))
        c.append("underruns", .int(Int64(counters.underruns)))
        c.append("resent", .int(Int64(counters.resent)))
        c.append("answers_cut", .int(Int64(counters.answersCut)))
        c.append("invalid_audio", .int(Int64(counters.invalidAudio)))
        var causes = JSONObject()
        for (k, v) in counters.failedByCause.sorted(by: { $0.key < $1.key }) { causes.append(k, .int(Int64(v))) }
        c.append("failed_by_cause", .object(causes))
        var sess = JSONObject()
        sess.append("age_s", session.age.map { .double(Double($0.wholeMilliseconds) / 1000) } ?? .null)
        sess.append("renewals", .int(Int64(session.renewals)))
        sess.append("routine_closes", .int(Int64(session.routineCloses)))
        sess.append("outages", .int(Int64(session.outages)))
        var o = JSONObject()
        o.append("state", .string(state.rawValue))
        o.append("mode", .string(mode.rawValue))
        o.append("muted", .bool(muted))
        o.append("connection", .string(connection))
        o.append("counters", .object(c))
        o.append("session", .object(sess))
        if let e = echo { o.append("echo", e.json) }
        if let l = lastTurn {
            var t = JSONObject()
            t.append("release_to_commit_ms", Self.msValue(l.releaseToCommit))
            t.append("commit_to_first_delta_ms", Self.msValue(l.commitToFirstDelta))
            t.append("first_delta_to_first_sample_ms", Self.msValue(l.firstDeltaToFirstSample))
            o.append("last_turn", .object(t))
        } else {
            o.append("last_turn", .null)
        }
        return o.serialized()
    }

    /// Parses `json` (what `omnid ctl status` receives); nil if it is not a status line.
    public init?(json text: String) {
        guard let v = try? JSONParser.parse(text), let o = v.objectValue,
              let s = o["state"]?.stringValue, let state = ApplianceState(rawValue: s),
              let m = o["mode"]?.stringValue, let mode = InteractionMode(rawValue: m)
        else { return nil }
        var counters = Counters()
        if let c = o["counters"]?.objectValue {
            func n(_ k: String) -> Int { c[k]?.intValue ?? 0 }
            counters.turns = n("turns")
            counters.answered = n("answered")
            counters.failed = n("failed")
            counters.cancelled = n("cancelled")
            counters.replayed = n("replayed")
            counters.bargeIns = n("barge_ins")
            counters.reconnects = n("reconnects")
            counters.droppedFrames = n("dropped_frames")
            counters.xruns = n("xruns")
            counters.underruns = n("underruns")
            counters.resent = n("resent")
            counters.answersCut = n("answers_cut")
            counters.invalidAudio = n("invalid_audio")
            if let f = c["failed_by_cause"]?.objectValue {
                for (k, v) in f { counters.failedByCause[k] = v.intValue ?? 0 }
            }
        }
        var sess = Session()
        if let so = o["session"]?.objectValue {
            sess.age = so["age_s"]?.doubleValue.map { Duration.milliseconds(Int64(($0 * 1000).rounded())) }
            sess.renewals = so["renewals"]?.intValue ?? 0
            sess.routineCloses = so["routine_closes"]?.intValue ?? 0
            sess.outages = so["outages"]?.intValue ?? 0
        }
        var last: ApplianceTurnLatencies?
        if let t = o["last_turn"]?.objectValue {
            func d(_ k: String) -> Duration? {
                // A reply from the wire may hold any number (1e25 trapped here; found by fuzzing).
                guard let ms = t[k]?.doubleValue, let ns = Int64(exactly: (ms * 1_000_000).rounded()) else { return nil }
                return .nanoseconds(ns)
            }
            last = ApplianceTurnLatencies(releaseToCommit: d("release_to_commit_ms"),
                                          commitToFirstDelta: d("commit_to_first_delta_ms"),
                                          firstDeltaToFirstSample: d("first_delta_to_first_sample_ms"))
        }
        self.init(state: state, mode: mode, muted: o["muted"]?.boolValue ?? false,
                  connection: o["connection"]?.stringValue ?? "unknown", counters: counters, lastTurn: last)
        session = sess
        echo = EchoStatus(json: o["echo"])
    }

    /// For people: a few aligned lines.
    public var text: String {
        func ms(_ d: Duration?) -> String {
            guard let d else { return "-" }
            let v = Double(LEDPattern.nanos(d)) / 1_000_000
            return v < 10 ? "\((v * 10).rounded() / 10) ms" : "\(Int(v.rounded())) ms"
        }
        let c = counters
        var lines = [
            "state:       \(state.rawValue)\(muted && state != .muted ? " (muted)" : "")",
            "mode:        \(mode.rawValue)",
            "connection:  \(connection)",
            "turns:       \(c.turns) (answered \(c.answered), failed \(c.failed), cancelled \(c.cancelled), replayed \(c.replayed), resent \(c.resent), barge-ins \(c.bargeIns))",
            "failed by:   \(c.failedByCause.isEmpty ? "-" : c.failedByCause.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))",
            "session:     age \(session.age.map { "\($0.wholeMilliseconds / 1000) s" } ?? "-"), renewals \(session.renewals), routine closes \(session.routineCloses), outages \(session.outages)",
            "reconnects:  \(c.reconnects)",
            "answers:     cut \(c.answersCut), invalid audio deltas \(c.invalidAudio)",
            "audio:       dropped frames \(c.droppedFrames), xruns \(c.xruns), underruns \(c.underruns)",
        ]
        if let l = lastTurn {
            lines.append("last turn:   release→commit \(ms(l.releaseToCommit)), commit→first delta \(ms(l.commitToFirstDelta)), first delta→first sample \(ms(l.firstDeltaToFirstSample))")
        } else {
            lines.append("last turn:   -")
        }
        if let e = echo { lines.append(e.text) }
        return lines.joined(separator: "\n")
    }

    static func msValue(_ d: Duration?) -> JSONValue {
        guard let d else { return .null }
        let micros = LEDPattern.nanos(d) / 1000
        return .double(Double(micros) / 1000)
    }
}

extension ApplianceMachine {
    /// The status with the machine's part filled in; the rest comes from the session manager
    /// (`connection`, `reconnects`, `droppedFrames`) and the audio engine (`xruns`, `underruns`).
    public func status(connection: String, reconnects: Int = 0, droppedFrames: Int = 0, xruns: Int = 0,
                       underruns: Int = 0) -> ApplianceStatus {
        var c = ApplianceStatus.Counters()
        c.turns = counters.turnsStarted
        c.answered = counters.turnsAnswered
        c.failed = counters.turnsFailed
        c.cancelled = counters.turnsCancelled
        c.replayed = counters.turnsReplayed
        c.resent = counters.turnsResent
        c.answersCut = counters.answersCut
        for (k, v) in counters.failures { c.failedByCause[k.rawValue] = v }
        c.bargeIns = counters.bargeIns
        c.reconnects = reconnects
        c.droppedFrames = droppedFrames
        c.xruns = xruns
        c.underruns = underruns
        return ApplianceStatus(state: state, mode: settings.mode, muted: muted, connection: connection, counters: c,
                               lastTurn: lastTurnLatencies)
    }
}

/// The audio of the current manual turn, kept so a turn cut by a lost link can be sent again
/// (`.startStreaming(record: true)` starts a new one, `.replayTurn` sends it). Holds the same
/// Base64 chunks that went to `input_audio_buffer.append`, up to `limit` characters (the oldest
/// audio is kept: a cut turn is resent from its start).
public struct ApplianceTurnRecording: Sendable {
    public private(set) var chunks: [String] = []
    public private(set) var characters = 0
    public let limit: Int
    public private(set) var truncated = false

    /// Default: 65 s of 16 kHz mono s16le in Base64 (≈ 2.8 MB).
    public init(limit: Int = 65 * 32_000 * 4 / 3) {
        self.limit = limit
    }

    public mutating func start() {
        chunks.removeAll(keepingCapacity: true)
        characters = 0
        truncated = false
    }

    /// Starts a recording that begins with `preroll` (audio sent just before it started).
    public mutating func start(preroll: [String]) {
        start()
        for c in preroll { append(base64: c) }
    }

    public mutating func append(base64 chunk: String) {
        let n = chunk.utf8.count
        guard characters + n <= limit else {
            truncated = true
            return
        }
        chunks.append(chunk)
        characters += n
    }

    public var isEmpty: Bool { chunks.isEmpty }
}
