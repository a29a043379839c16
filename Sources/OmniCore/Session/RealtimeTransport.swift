// The seam between the session manager (pure logic, driven by the controller loop) and a
// WebSocket implementation (libwebsockets in OmniLinux, a fake in tests).

/// Where and how to open the realtime socket. `headers` carries `Authorization`; it must never be
/// logged, which is why `description` hides header values.
public struct ConnectRequest: Sendable, Equatable, CustomStringConvertible {
    public var url: String
    public var headers: [(name: String, value: String)]
    /// Optional PEM bundle used instead of the system CA store (private servers).
    public var caFile: String?
    /// Allow `ws://` to a host that is not loopback.
    public var allowInsecure: Bool
    /// Largest incoming message accepted, in bytes; bigger ones fail the link.
    public var maxMessageBytes: Int
    /// Longest an incoming message may take from its first frame to its last; a slower one fails
    /// the link. A sender that dribbles a message (one byte per frame, pings answered between
    /// frames) otherwise holds the link, and every answer queued behind it, for as long as it likes.
    public var maxMessageDuration: Duration

    public init(url: String, headers: [(name: String, value: String)] = [], caFile: String? = nil,
                allowInsecure: Bool = false, maxMessageBytes: Int = 1 << 20,
                maxMessageDuration: Duration = .seconds(25)) {
        self.url = url
        self.headers = headers
        self.caFile = caFile
        self.allowInsecure = allowInsecure
        self.maxMessageBytes = maxMessageBytes
        self.maxMessageDuration = maxMessageDuration
    }

    public static func == (a: ConnectRequest, b: ConnectRequest) -> Bool {
        a.url == b.url && a.caFile == b.caFile && a.allowInsecure == b.allowInsecure
            && a.maxMessageBytes == b.maxMessageBytes && a.maxMessageDuration == b.maxMessageDuration
            && a.headers.map(\.name) == b.headers.map(\.name)
            && a.headers.map(\.value) == b.headers.map(\.value)
    }

    public var description: String {
        "\(url) headers=[\(headers.map { "\($0.name): <redacted>" }.joined(separator: ", "))]"
    }
}

/// Why a connection attempt or a live link failed. Kept distinct so the log can tell a DNS
/// problem from a certificate problem from a rejected key.
public enum TransportFailure: Sendable, Equatable, CustomStringConvertible {
    case dns(String)
    case tls(String)
    case connect(String)
    /// The HTTP upgrade was answered with this status (401/403 = bad key).
    case httpStatus(Int)
    case protocolError(String)
    /// Refused locally before connecting (e.g. plain ws:// to a non-loopback host).
    case refused(String)

    public var description: String {
        switch self {
        case .dns(let m): "DNS lookup failed: \(m)"
        case .tls(let m): "TLS failed: \(m)"
        case .connect(let m): "connection failed: \(m)"
        case .httpStatus(let s): "HTTP \(s) on WebSocket upgrade"
        case .protocolError(let m): "protocol error: \(m)"
        case .refused(let m): "refused: \(m)"
        }
    }

    public var isAuthFailure: Bool {
        if case .httpStatus(let s) = self { return s == 401 || s == 403 }
        return false
    }
}

/// What the transport reports, in order, on the controller's side of the seam.
public enum TransportEvent: Sendable, Equatable {
    /// The WebSocket is open.
    case opened
    /// One complete text message.
    case text(String)
    /// Any frame arrived (text, pong, ping): keeps the link alive.
    case pong
    /// A complete binary message of this many bytes arrived (the protocol has none; it is
    /// dropped, but it is a sign of life and is counted).
    case binary(byteCount: Int)
    /// The transport's own send queue has room again.
    case writable
    /// The link closed (by either side) after it had opened.
    case closed(code: Int, reason: String)
    /// Connecting failed, or the link broke without a close handshake.
    case failed(TransportFailure)
}

/// A WebSocket client. Calls come from the controller; events go back through the handler
/// the implementation is created with (`@Sendable (TransportEvent) -> Void`), on whatever thread
/// the implementation uses, so the receiver must hop to its own loop.
public protocol RealtimeTransport: AnyObject, Sendable {
    /// Start connecting. Any previous connection is dropped first.
    func connect(_ request: ConnectRequest)
    /// Queue one text message; false when the transport's queue is full (caller keeps it).
    func send(text: String) -> Bool
    /// Messages accepted by `send` but not yet written to the socket.
    var queuedMessages: Int { get }
    /// Send a WebSocket ping.
    func ping()
    /// Close with a close frame; `.closed` follows.
    func close(code: Int, reason: String)
    /// Drop the connection at once, no close handshake, no event.
    func abort()
}
