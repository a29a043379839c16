#if canImport(Glibc)
import Glibc
#endif
import OmniSystem

// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET per message. Under
// Type=notify the unit waits for READY=1; STATUS= shows in `systemctl status`; WATCHDOG=1 must
// arrive at least every WatchdogSec or systemd restarts the daemon.

public struct SystemdNotifier: Sendable {
    private let socketPath: String?
    /// Half of WATCHDOG_USEC: how often to send WATCHDOG=1 (nil when the watchdog is off).
    public let watchdogInterval: Duration?

    public init(environment: [String: String]) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        if let usec = environment["WATCHDOG_USEC"].flatMap(Int.init), usec > 0,
           environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isActive: Bool { socketPath != nil }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ status: String) { send("STATUS=\(status)") }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping() { send("STOPPING=1") }
    public func reloading() { send("RELOADING=1") }

    @discardableResult
    public func send(_ message: String) -> Bool {
        guard let path = socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // "@name" is an abstract socket (UnixSocketAddress handles both forms).
        guard let addr = UnixSocketAddress(path) else { return false }
        var payload = Array(message.utf8)
        let sent = addr.withSockaddr { sa, len in
            payload.withUnsafeMutableBytes { buf in
                sendto(fd, buf.baseAddress, buf.count, Int32(MSG_NOSIGNAL), sa, len)
            }
        }
        return sent == payload.count
    }
}
