import RealtimeProtocol

// What `omnid ctl status` says about the microphone's echo handling: which path runs
// (cancelling, half duplex, nothing), why, and the canceller's alignment and effect. Its JSON
// and text rows are kept here so ApplianceStatus only carries the value.

public struct EchoStatus: Sendable, Equatable {
    public enum Path: String, Sendable, Equatable {
        /// speexdsp through EchoPipeline.
        case cancelling
        /// The microphone is muted while the speaker plays (HalfDuplexGate).
        case halfDuplex = "half-duplex"
        /// Neither (a test switch; see README "Testing notes").
        case none
    }

    public var path: Path
    /// Why the path is not `cancelling` (nil when it is).
    public var reason: String?
    /// Bulk delay compensated, ms (nil until measured).
    public var delayMs: Double?
    public var driftPPM = 0.0
    public var measurements = 0
    public var jumps = 0
    /// Echo return loss enhancement over the last seconds of far-end-only sound, dB (nil until seen).
    public var erleDB: Double?
    /// The streams were restarted (xrun, device reopen, full reference ring).
    public var restarts = 0
    /// The half-duplex gate mutes the microphone right now.
    public var halfDuplexActive = false
    /// Microphone audio muted by the half-duplex gate so far, ms.
    public var mutedMs = 0
    /// The canceller's start-up gate (EchoStartupGate): nil without a canceller.
    public var startup: Startup?
    /// Stream restarts after which the canceller kept its filter.
    public var filterKept = 0

    /// The start-up gate: half duplex (by the canceller's shortfall) until it has converged.
    public struct Startup: Sendable, Equatable {
        /// `converging`, `verifying`, `converged`, `timed-out` (EchoStartupGate.Phase).
        public var phase: String
        /// The echo reduction it measures (microphone vs output over the last far-end sound), dB.
        public var erleDB: Double?
        /// Speaker sound the canceller has learnt from since it was made or reset, ms.
        public var learnedMs: Int
        /// Speaker sound it had learnt from when the gate opened, ms.
        public var openedAtMs: Int?
        /// The microphone is attenuated right now, dB (0: not).
        public var attenuationDB: Double

        public init(phase: String, erleDB: Double?, learnedMs: Int, openedAtMs: Int?, attenuationDB: Double) {
            self.phase = phase
            self.erleDB = erleDB
            self.learnedMs = learnedMs
            self.openedAtMs = openedAtMs
            self.attenuationDB = attenuationDB
        }

        var json: JSONValue {
            var o = JSONObject()
            o.append("phase", .string(phase))
            o.append("erle_db", erleDB.map { .double(($0 * 10).rounded() / 10) } ?? .null)
            o.append("learned_ms", .int(Int64(learnedMs)))
            o.append("opened_at_ms", openedAtMs.map { .int(Int64($0)) } ?? .null)
            o.append("attenuation_db", .double((attenuationDB * 10).rounded() / 10))
            return .object(o)
        }

        init?(json v: JSONValue?) {
            guard let o = v?.objectValue, let phase = o["phase"]?.stringValue else { return nil }
            self.init(phase: phase, erleDB: o["erle_db"]?.doubleValue, learnedMs: o["learned_ms"]?.intValue ?? 0,
                      openedAtMs: o["opened_at_ms"]?.intValue, attenuationDB: o["attenuation_db"]?.doubleValue ?? 0)
        }

        var text: String {
            func f(_ d: Double?) -> String { d.map { "\(($0 * 10).rounded() / 10)" } ?? "-" }
            var s = "start-up gate \(phase)"
            if let openedAtMs, phase == "converged" {
                s += " after \(openedAtMs) ms of speaker sound"
            } else {
                s += " (\(learnedMs) ms of speaker sound learnt, ERLE \(f(erleDB)) dB"
                s += attenuationDB > 0.05 ? ", attenuating \(f(attenuationDB)) dB)" : ")"
            }
            return s
        }
    }

    public init(path: Path, reason: String? = nil) {
        self.path = path
        self.reason = reason
    }

    var json: JSONValue {
        var o = JSONObject()
        o.append("path", .string(path.rawValue))
        o.append("reason", reason.map { .string($0) } ?? .null)
        o.append("delay_ms", delayMs.map { .double(($0 * 10).rounded() / 10) } ?? .null)
        o.append("drift_ppm", .double((driftPPM * 10).rounded() / 10))
        o.append("measurements", .int(Int64(measurements)))
        o.append("jumps", .int(Int64(jumps)))
        o.append("erle_db", erleDB.map { .double(($0 * 10).rounded() / 10) } ?? .null)
        o.append("restarts", .int(Int64(restarts)))
        o.append("half_duplex_active", .bool(halfDuplexActive))
        o.append("muted_ms", .int(Int64(mutedMs)))
        o.append("startup", startup?.json ?? .null)
        o.append("filter_kept", .int(Int64(filterKept)))
        return .object(o)
    }

    init?(json v: JSONValue?) {
        guard let o = v?.objectValue, let p = o["path"]?.stringValue, let path = Path(rawValue: p) else { return nil }
        self.init(path: path, reason: o["reason"]?.stringValue)
        delayMs = o["delay_ms"]?.doubleValue
        driftPPM = o["drift_ppm"]?.doubleValue ?? 0
        measurements = o["measurements"]?.intValue ?? 0
        jumps = o["jumps"]?.intValue ?? 0
        erleDB = o["erle_db"]?.doubleValue
        restarts = o["restarts"]?.intValue ?? 0
        halfDuplexActive = o["half_duplex_active"]?.boolValue ?? false
        mutedMs = o["muted_ms"]?.intValue ?? 0
        startup = Startup(json: o["startup"])
        filterKept = o["filter_kept"]?.intValue ?? 0
    }

    public var text: String {
        func f(_ d: Double?) -> String { d.map { "\(($0 * 10).rounded() / 10)" } ?? "-" }
        var s = "echo:        \(path.rawValue)"
        if let reason { s += " (\(reason))" }
        if path == .cancelling {
            s += ", delay \(f(delayMs)) ms, drift \(f(driftPPM)) ppm, ERLE \(f(erleDB)) dB, measurements \(measurements), jumps \(jumps)"
        }
        if let startup { s += ", " + startup.text }
        s += ", restarts \(restarts)"
        if path == .cancelling { s += " (filter kept \(filterKept))" }
        s += ", half duplex \(halfDuplexActive ? "active" : "idle") (muted \(mutedMs) ms)"
        return s
    }
}

extension EchoStatus.Startup {
    public init(_ s: EchoStartupGate.Status) {
        self.init(phase: s.phase.rawValue, erleDB: s.reductionDB, learnedMs: s.learnedMs, openedAtMs: s.openedAtMs,
                  attenuationDB: s.attenuationDB)
    }
}
