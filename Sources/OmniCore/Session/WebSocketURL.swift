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
        if let v4 = IPLiteral.v4(name) { return v4[0] == 127 }
        if let v6 = IPLiteral.v6(name) {
            if v6 == [UInt8](repeating: 0, count: 15) + [1] { return true }
            // IPv4-mapped ::ffff:127.x.y.z
            return v6[0..<10].allSatisfy { $0 == 0 } && v6[10] == 0xff && v6[11] == 0xff && v6[12] == 127
        }
        return false
    }
}

/// IP address literals as inet_pton(3) accepts them, in pure Swift so the config check and the
/// transport agree without C.
enum IPLiteral {
    /// Dotted-decimal a.b.c.d, each 0...255, no leading `+`.
    static func v4(_ s: some StringProtocol) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    /// RFC 4291 text form: eight hex groups, one `::` run of zeros, optional dotted IPv4 tail.
    static func v6(_ s: String) -> [UInt8]? {
        guard s.contains(":") else { return nil }
        let halves = s.split(separator: "::", omittingEmptySubsequences: false)
        guard halves.count <= 2 else { return nil }
        func groups(_ text: Substring, allowV4Tail: Bool) -> [UInt8]? {
            if text.isEmpty { return [] }
            var out: [UInt8] = []
            let items = text.split(separator: ":", omittingEmptySubsequences: false)
            for (i, g) in items.enumerated() {
                if allowV4Tail, i == items.count - 1, g.contains(".") {
                    guard let v4 = v4(g) else { return nil }
                    out += v4
                } else {
                    guard (1...4).contains(g.count), let v = UInt16(g, radix: 16) else { return nil }
                    out += [UInt8(v >> 8), UInt8(v & 0xff)]
                }
            }
            return out
        }
        if halves.count == 1 {
            guard let all = groups(halves[0], allowV4Tail: true), all.count == 16 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowV4Tail: false), let tail = groups(halves[1], allowV4Tail: true),
              head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
