#if canImport(Glibc)
import Glibc
#endif

// The one place a Unix socket path becomes a sockaddr_un (the control socket, its client, and
// sd_notify's NOTIFY_SOCKET). sun_path holds 108 bytes including the NUL; a longer path is
// refused, never cut (a cut path would bind or reach a different socket).

public struct UnixSocketAddress: Sendable {
    public private(set) var storage = sockaddr_un()
    /// The length to pass to bind/connect/sendto: the whole struct for a path, only the used
    /// bytes for an abstract name (whose bytes all count, NULs included).
    public let length: socklen_t

    /// `path`, or an abstract socket name written as "@name" (systemd's convention).
    public init?(_ path: String) {
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        length = abstract ? socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
                          : socklen_t(MemoryLayout<sockaddr_un>.size)
    }

    /// Calls `body` with the address as the `sockaddr` pointer the socket calls take.
    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
        try withUnsafePointer(to: storage) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}
