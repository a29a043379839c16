#if canImport(Glibc)
import Glibc
#endif

// ws:// and wss:// URLs as the client needs them: what to resolve and dial, what to put in the
// Host header (which lws also uses for SNI and certificate name checks), and the request path
// with its query kept verbatim (`?model=...`).

public struct WebSocketURL: Equatable, Sendable {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case scheme, host, port, userInfo

        public var description: String {
            switch self {
            case .scheme: "scheme must be ws:// or wss://"
            case .host: "missing or malformed host"
            case .port: "port must be 1...65535"
            case .userInfo: "user:password@ in the URL is not supported"
            }
        }
    }

    public var secure: Bool
    /// Host to resolve; IPv6 literals without brackets.
    public var host: String
    public var port: Int
    /// Path plus query, always starting with "/"; the fragment is dropped.
    public var pathAndQuery: String

    public init(parsing text: String) throws(ParseError) {
        let rest: Substring
        if text.lowercased().hasPrefix("wss://") {
            secure = true
            rest = text.dropFirst(6)
        } else if text.lowercased().hasPrefix("ws://") {
            secure = false
            rest = text.dropFirst(5)
        } else {
            throw .scheme
        }
        let withoutFragment = rest.prefix { $0 != "#" }
        let authorityEnd = withoutFragment.firstIndex { $0 == "/" || $0 == "?" } ?? withoutFragment.endIndex
        let authority = withoutFragment[..<authorityEnd]
        let target = withoutFragment[authorityEnd...]
        pathAndQuery = target.hasPrefix("/") ? String(target) : "/" + target
        if authority.contains("@") { throw .userInfo }

        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .host }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .host }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { throw .host }
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw .port }
            port = value
        } else {
            port = secure ? 443 : 80
        }
    }

    /// Value for the Host header: default ports omitted, IPv6 literals bracketed.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// Loopback by name or literal address; decided without any DNS lookup, so that refusing
    /// plain ws:// elsewhere never touches the network.
    public var isLoopback: Bool {
        let name = host.lowercased()
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            // IPv4-mapped ::ffff:127.x.y.z
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
        }
        return false
    }
}
