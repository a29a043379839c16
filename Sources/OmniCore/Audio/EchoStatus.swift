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
    /// The microphone is muted right now (half duplex, or the canceller's start-up gate).
    public var halfDuplexActive = false
    /// Microphone audio muted so far, ms.
    public var mutedMs = 0

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
    }

    public var text: String {
        func f(_ d: Double?) -> String { d.map { "\(($0 * 10).rounded() / 10)" } ?? "-" }
        var s = "echo:        \(path.rawValue)"
        if let reason { s += " (\(reason))" }
        if path == .cancelling {
            s += ", delay \(f(delayMs)) ms, drift \(f(driftPPM)) ppm, ERLE \(f(erleDB)) dB, measurements \(measurements), jumps \(jumps)"
        }
        s += ", restarts \(restarts), half duplex \(halfDuplexActive ? "active" : "idle") (muted \(mutedMs) ms)"
        return s
    }
}
