#if canImport(Glibc)
import Glibc
#endif
import OmniSystem

// Name resolution for the client, off its service thread. getaddrinfo() blocks for as long as
// the resolver takes (a dead DNS server: many seconds, a broken one: forever) and nothing can
// interrupt it; the Debian lws build has no asynchronous DNS and resolves inside
// lws_client_connect_via_info(). Done there, a lookup held the service thread, so shutdown could
// not join it and SIGTERM ended by the daemon's hard-stop backstop instead of a clean close.
// Here each lookup runs on a detached thread of its own: the service thread only hands lws the
// numeric address that comes back (lws then resolves nothing) and keeps the host name for the
// Host header, SNI and certificate verification (lws takes those from `host`, not `address`).
// A lookup nobody waits for any more is simply abandoned; the process may exit under it.

enum LWSResolver {
    enum Outcome: Sendable, Equatable {
        /// Numeric addresses, in getaddrinfo's order (RFC 6724: the one to try first first).
        case addresses([String])
        /// The resolver's reason (gai_strerror).
        case failed(String)
    }

    /// `host` itself when it is an IPv4 or IPv6 literal: nothing to look up.
    static func literal(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return host }
        return nil
    }

    /// Looks `host` up with `lookUp` on a new detached thread and calls `done` there. False if
    /// the thread could not be started (`done` is then not called).
    static func resolve(_ host: String, with lookUp: @escaping @Sendable (String) -> Outcome,
                        done: @escaping @Sendable (Outcome) -> Void) -> Bool {
        // getaddrinfo and the NSS modules it loads need a few tens of KiB of stack; 512 KiB is
        // the service thread's reservation too (only what is touched is committed).
        guard let thread = try? PThread.start(PThread.Options(name: "omni-resolver", stackBytes: 512 * 1024), {
            done(lookUp(host))
        }) else { return false }
        thread.detach()
        return true
    }

    /// The blocking lookup: TCP addresses of `host`, as numeric strings, duplicates dropped.
    static func lookUp(_ host: String) -> Outcome {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0 else { return .failed(String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(result) }
        var addresses: [String] = []
        var next = result
        while let ai = next {
            next = ai.pointee.ai_next
            var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            // NI_NUMERICHOST: formatting only, no reverse lookup; keeps an IPv6 scope ("%eth0").
            guard getnameinfo(ai.pointee.ai_addr, ai.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0,
                              NI_NUMERICHOST) == 0 else { continue }
            let address = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !addresses.contains(address) { addresses.append(address) }
        }
        return addresses.isEmpty ? .failed("no usable address") : .addresses(addresses)
    }
}
