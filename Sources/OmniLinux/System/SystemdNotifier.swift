#if canImport(Glibc)
import Glibc
#endif
import OmniSystem

// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET per message. Under
// Type=notify the unit waits for READY=1; STATUS= shows in `systemctl status`; WATCHDOG=1 must
// arrive at least every WatchdogSec or systemd restarts the daemon.

public struct SystemdNotifier: Sendable {
    private let channel: Channel?
    /// Half of WATCHDOG_USEC: how often to send WATCHDOG=1 (nil when the watchdog is off).
    public let watchdogInterval: Duration?

    public init(environment: [String: String]) {
        channel = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : Channel(path: $0) }
        if let usec = environment["WATCHDOG_USEC"].flatMap(Int.init), usec > 0,
           environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isActive: Bool { channel != nil }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ status: String) { send("STATUS=\(status)") }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping() { send("STOPPING=1") }
    public func reloading() { send("RELOADING=1") }

    @discardableResult
    public func send(_ message: String) -> Bool {
        channel?.send(message) ?? false
    }

    /// The socket's address and one datagram socket kept for every message (a STATUS= goes out
    /// at every state change of a turn: a socket made and closed for each cost two system calls
    /// more). Unconnected, so a NOTIFY_SOCKET that systemd makes anew is still reached.
    private final class Channel: Sendable {
        let address: UnixSocketAddress
        let fd: Int32

        /// nil when the path cannot be a socket address ("@name" is an abstract socket).
        init?(path: String) {
            guard let address = UnixSocketAddress(path) else { return nil }
            self.address = address
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }

        deinit { if fd >= 0 { close(fd) } }

        func send(_ message: String) -> Bool {
            guard fd >= 0 else { return false }
            var payload = Array(message.utf8)
            let sent = address.withSockaddr { sa, len in
                payload.withUnsafeMutableBytes { buf in
                    sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), sa, len)
                }
            }
            return sent == payload.count
        }
    }
}
