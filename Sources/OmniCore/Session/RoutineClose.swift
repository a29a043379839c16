// The service ends sessions on its own rules, and none of them is an outage:
//   - after 300 s without a response it sends `error` ("Your session was closed because no
//     response was generated for 300 seconds.", code `response_idle_timeout` in one sample) and
//     closes; pings do not reset that timer;
//   - at 120 minutes it closes the session (its error, if any, is not documented).
// The session manager renews the session quietly shortly before either deadline, between turns
// (see SessionManager+Renewal.swift); should the service get there first, its close is
// recognised here and handled the same quiet way.

import RealtimeProtocol

/// Why a session is replaced although nothing is wrong.
public enum RoutineClose: String, Sendable, Equatable, Hashable, CaseIterable, CustomStringConvertible {
    /// The service's idle close (no response for 300 s), or our renewal ahead of it.
    case idle
    /// The service's 120-minute session cap, or our renewal ahead of it.
    case sessionCap = "session-cap"
    /// A reload changed something only a new session can take (the voice once audio was
    /// produced, the URL, the API key).
    case reload

    public var description: String { rawValue }

    /// The routine close an `error` event announces, or nil when it is an ordinary error. The
    /// message is matched as well as the code: the service's codes are not documented.
    public static func announced(by e: ErrorDetail) -> RoutineClose? {
        let code = (e.code ?? "").lowercased()
        let message = e.message.lowercased()
        if code == "response_idle_timeout" || code == "session_idle_timeout"
            || message.contains("no response was generated")
        {
            return .idle
        }
        if code == "session_expired" || code == "session_timeout" || message.contains("maximum duration")
            || message.contains("session has expired") || message.contains("session expired")
        {
            return .sessionCap
        }
        return nil
    }
}
