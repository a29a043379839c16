// Fault injection, chosen per connection so one test run can try each (query parameters on the
// upgrade URL, or the same syntax in the control file):
//
//   fault=NAME            one of FaultKind's raw values
//   fault_response=K      which answer of the connection (1-based; default 1)
//   fault_after_deltas=N  mid-answer faults: after N delta chunks (default 2)
//   fault_at_ms=T         fire T ms after the socket opened instead (any fault but auth_reject;
//                         required meaning for session_cap, default 2000)
//   fault_code=C          close code (defaults per kind, below)
//   fault_close=0|1       error faults: close after the error event (default 1)
//   fault_bytes=B         oversize_frame: frame size in bytes (default 5 MiB)
//   fault_status=S        auth_reject: HTTP status (default 401)

public enum FaultKind: String, CaseIterable, Sendable {
    /// WebSocket close frame (code 1011 unless fault_code) after N deltas.
    case closeMidAnswer = "close_mid_answer"
    /// TCP RST (no close frame) after N deltas.
    case resetMidAnswer = "reset_mid_answer"
    /// Nothing more is sent after N deltas; the socket stays open and input is ignored.
    case stallMidAnswer = "stall_mid_answer"
    /// `error` (rate_limit_error, Throttling.RateQuota) instead of the answer, then close 1013 (try again later).
    case rateLimit = "rate_limit"
    /// `error` (server_error, "Internal service error: null") instead of the answer, then close 1011.
    case internalError = "internal_error"
    /// A truncated, unparsable JSON text frame before the answer; the answer then proceeds.
    case malformedJSON = "malformed_json"
    /// One valid JSON frame of fault_bytes (type `sim.oversize`) before the answer; the answer proceeds.
    case oversizeFrame = "oversize_frame"
    /// The handshake is refused with HTTP fault_status whatever the key.
    case authReject = "auth_reject"
    /// The maximum-session-length close (error session_expired + close) at fault_at_ms.
    case sessionCap = "session_cap"
}

public struct FaultPlan: Sendable, Equatable {
    public var kind: FaultKind
    public var response = 1
    public var afterDeltas = 2
    public var atMs: Int?
    public var closeCode: Int?
    public var closeAfterError = true
    public var bytes = 5 << 20
    public var httpStatus = 401

    public init(kind: FaultKind) { self.kind = kind }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case unknownFault(String)
        case badNumber(name: String, value: String)

        public var description: String {
            switch self {
            case .unknownFault(let f):
                "unknown fault '\(f)'; known: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))"
            case .badNumber(let n, let v): "\(n)=\(v) is not a valid number"
            }
        }
    }

    /// The plan in `pairs`, nil when there is no (or an empty / `none`) `fault` parameter.
    public static func parse(_ pairs: [(name: String, value: String)]) throws(ParseError) -> FaultPlan? {
        guard let name = QueryString.value("fault", in: pairs), !name.isEmpty, name != "none" else { return nil }
        guard let kind = FaultKind(rawValue: name) else { throw .unknownFault(name) }
        var p = FaultPlan(kind: kind)
        func int(_ key: String) throws(ParseError) -> Int? {
            guard let v = QueryString.value(key, in: pairs) else { return nil }
            guard let i = Int(v), i >= 0 else { throw .badNumber(name: key, value: v) }
            return i
        }
        if let v = try int("fault_response") { p.response = max(1, v) }
        if let v = try int("fault_after_deltas") { p.afterDeltas = v }
        if let v = try int("fault_at_ms") { p.atMs = v }
        if let v = try int("fault_code") { p.closeCode = v }
        if let v = try int("fault_close") { p.closeAfterError = v != 0 }
        if let v = try int("fault_bytes") { p.bytes = max(64, v) }
        if let v = try int("fault_status") { p.httpStatus = v }
        if kind == .sessionCap && p.atMs == nil { p.atMs = 2000 }
        return p
    }

    /// The fault from the connection's query, else from the control file's text.
    public static func resolve(query: [(name: String, value: String)], controlFile: String?) throws(ParseError)
        -> FaultPlan?
    {
        if let p = try parse(query) { return p }
        guard let text = controlFile else { return nil }
        // The control file: one query string; blank lines and `#` comments are ignored.
        let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingSpaces }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .joined(separator: "&")
        return try parse(QueryString.parse(line))
    }

    var isMidAnswer: Bool { kind == .closeMidAnswer || kind == .resetMidAnswer || kind == .stallMidAnswer }
    var isAtResponseStart: Bool {
        kind == .rateLimit || kind == .internalError || kind == .malformedJSON || kind == .oversizeFrame
    }

    var effectiveCloseCode: Int {
        if let c = closeCode { return c }
        switch kind {
        case .rateLimit: return 1013
        case .sessionCap: return 1000
        default: return 1011
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
