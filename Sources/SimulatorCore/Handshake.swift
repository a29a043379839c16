import RealtimeProtocol

// Who may open a session (protocol §1, §11.1): decided on the HTTP upgrade request, before any
// WebSocket frame, exactly as the service refuses bad keys with a plain HTTP status.
//
// Key policy: with `--api-key K` the Bearer token must be exactly K; without it any non-empty
// token is accepted (tests and the demo need no secret). The scheme is case-insensitive
// because SDK 1.24.6 sends `bearer`.

public enum HandshakeDecision: Sendable, Equatable {
    case accept(model: String, fault: FaultPlan?)
    case reject(status: Int, body: String)
}

public struct HandshakePolicy: Sendable {
    public static let path = "/api-ws/v1/realtime"

    public var apiKey: String?

    public init(apiKey: String?) { self.apiKey = apiKey }

    /// `uri` may carry the query (`/api-ws/v1/realtime?model=…`); `query` is used when it does not.
    /// `header` looks a request header up by name, case-insensitively.
    public func decide(uri: String, query: String = "", header: (String) -> String?, controlFile: String? = nil)
        -> HandshakeDecision
    {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? ""
        let queryText = parts.count > 1 ? String(parts[1]) : query
        guard path == Self.path || path == Self.path + "/" else {
            return .reject(status: 404, body: Self.body("NotFound", "No such endpoint: \(path)"))
        }
        let pairs = QueryString.parse(queryText)
        let fault: FaultPlan?
        do {
            fault = try FaultPlan.resolve(query: pairs, controlFile: controlFile)
        } catch {
            return .reject(status: 400, body: Self.body("InvalidParameter", error.description))
        }
        if let f = fault, f.kind == .authReject {
            return .reject(status: f.httpStatus, body: Self.body("InvalidApiKey", "Invalid API-key provided."))
        }
        guard let token = Self.bearerToken(header("authorization")) else {
            return .reject(status: 401, body: Self.body("InvalidApiKey", "No API-key provided."))
        }
        if let key = apiKey, token != key {
            return .reject(status: 401, body: Self.body("InvalidApiKey", "Invalid API-key provided."))
        }
        guard let model = QueryString.value("model", in: pairs), !model.isEmpty else {
            return .reject(status: 400, body: Self.body("InvalidParameter", "Missing required parameter: model"))
        }
        return .accept(model: model, fault: fault)
    }

    /// The token of `Bearer <token>` (any case of the scheme), nil when absent or empty.
    static func bearerToken(_ value: String?) -> String? {
        guard let v = value else { return nil }
        let parts = v.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces
        return token.isEmpty ? nil : token
    }

    /// DashScope's HTTP error body shape [INF].
    static func body(_ code: String, _ message: String) -> String {
        JSONValue.object(["code": .string(code), "message": .string(message)]).serialized()
    }
}
