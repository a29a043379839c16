// Fault injection, chosen per connection so one test run can try each (query parameters on the
// upgrade URL, or the same syntax in the control file):
//
//   fault=NAME            one of FaultKind's raw values
//   fault_connection=K    only on the K-th WebSocket connection the server opens (1-based);
//                         default: every connection (a link-killing fault on every connection
//                         would keep a client from ever answering the next turn)
//   fault_response=K      which answer of the connection (1-based; default 1)
//   fault_after_deltas=N  mid-answer faults: after N delta chunks (default 2)
//   fault_at_ms=T         fire T ms after the socket opened instead (any fault but auth_reject
//                         and the reset_before/after_created ones; required meaning for
//                         session_cap, default 2000)
//   fault_code=C          close code (defaults per kind, below)
//   fault_close=0|1       error faults: close after the error event (default 1)
//   fault_bytes=B         message size: oversize_frame (default 5 MiB), binary_frames (1 KiB each),
//                         slow_loris (256), flood (each frame padded to about B; default unpadded,
//                         under 100)
//   fault_fragment=B      payload bytes per WebSocket frame (oversize_frame, binary_frames,
//                         slow_loris: default 1); otherwise one frame per message
//   fault_gap_ms=T        slow_loris: pause between its frames (default 10)
//   fault_count=N         flood: events (default 20000); binary_frames: messages (default 100);
//                         invalid_base64: deltas spoiled (default all of the answer)
//   fault_flood=KIND      flood: malformed (default; truncated JSON), unknown (valid events of a
//                         type the protocol does not have) or error (recoverable error events)
//   fault_depth=D         deep_nesting: array depth (default 100000)
//   fault_status=S        auth_reject: HTTP status (default 401)
//
// The hostile faults (flood … reset_after_done) exist to show the client survives what a broken
// or malicious service can send; their integration tests are OmnidHostileServerTests.

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

    // Hostile input (issue 16). Unless noted, sent just before the answer, which then proceeds.
    /// fault_count frames of fault_flood kind in a burst.
    case flood = "flood"
    /// A text frame whose bytes are not UTF-8 (a JSON event with 0xC3 0x28 in a string).
    case invalidUTF8 = "invalid_utf8"
    /// The answer's audio deltas carry payloads that are not Base64 PCM (bad character, impossible
    /// length, odd byte count, in turn); the rest of the answer is normal.
    case invalidBase64 = "invalid_base64"
    /// A valid JSON event holding arrays nested fault_depth deep.
    case deepNesting = "deep_nesting"
    /// fault_count binary messages of fault_bytes (arbitrary bytes).
    case binaryFrames = "binary_frames"
    /// A fault_bytes event (type `sim.slow`) sent in frames of fault_fragment bytes,
    /// fault_gap_ms apart; everything after it waits behind it.
    case slowLoris = "slow_loris"
    /// TCP RST as the socket opens, before session.created.
    case resetBeforeCreated = "reset_before_created"
    /// TCP RST right after session.created (the client's session.update is in flight).
    case resetAfterCreated = "reset_after_created"
    /// TCP RST right after the answer's response.done.
    case resetAfterDone = "reset_after_done"
}

/// What a `flood` consists of.
public enum FloodKind: String, CaseIterable, Sendable {
    case malformed
    case unknown
    /// Recoverable `error` events (invalid_request_error): the session goes on after each.
    case error
}

public struct FaultPlan: Sendable, Equatable {
    public var kind: FaultKind
    public var response = 1
    public var afterDeltas = 2
    public var atMs: Int?
    public var closeCode: Int?
    public var closeAfterError = true
    public var httpStatus = 401
    public var connection: Int?
    /// fault_bytes as given; `bytes` applies the kind's default.
    public var bytesParam: Int?
    public var fragmentBytes: Int?
    public var gapMs = 10
    public var count: Int?
    public var floodKind = FloodKind.malformed
    public var depth = 100_000

    public init(kind: FaultKind) { self.kind = kind }

    /// The message size: fault_bytes, else the kind's default.
    public var bytes: Int {
        if let b = bytesParam { return b }
        switch kind {
        case .binaryFrames: return 1024
        case .slowLoris: return 256
        default: return 5 << 20
        }
    }

    /// Whether the fault applies to the `n`-th connection the server opened (1-based).
    public func applies(toConnection n: Int) -> Bool { connection.map { $0 == n } ?? true }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case unknownFault(String)
        case badNumber(name: String, value: String)
        case badChoice(name: String, value: String, allowed: [String])

        public var description: String {
            switch self {
            case .unknownFault(let f):
                "unknown fault '\(f)'; known: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))"
            case .badNumber(let n, let v): "\(n)=\(v) is not a valid number"
            case .badChoice(let n, let v, let allowed): "\(n)=\(v) is not one of \(allowed.joined(separator: ", "))"
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
        if let v = try int("fault_status") { p.httpStatus = v }
        if let v = try int("fault_connection") { p.connection = max(1, v) }
        // Sizes: a frame must hold at least one byte; a flood or a nest of zero is no fault.
        if let v = try int("fault_bytes") { p.bytesParam = max(kind == .oversizeFrame ? 64 : 1, v) }
        if let v = try int("fault_fragment") { p.fragmentBytes = max(1, v) }
        if let v = try int("fault_gap_ms") { p.gapMs = v }
        if let v = try int("fault_count") { p.count = max(1, v) }
        if let v = try int("fault_depth") { p.depth = max(1, v) }
        if let v = QueryString.value("fault_flood", in: pairs) {
            guard let f = FloodKind(rawValue: v) else {
                throw .badChoice(name: "fault_flood", value: v, allowed: FloodKind.allCases.map(\.rawValue))
            }
            p.floodKind = f
        }
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
        switch kind {
        case .rateLimit, .internalError, .malformedJSON, .oversizeFrame, .flood, .invalidUTF8, .deepNesting,
             .binaryFrames, .slowLoris:
            true
        default:
            false
        }
    }
    /// Faults of the socket's opening, not of an answer.
    var isAtOpen: Bool { kind == .resetBeforeCreated || kind == .resetAfterCreated }

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
