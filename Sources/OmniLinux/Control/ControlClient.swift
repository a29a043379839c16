#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniSystem

// `omnid ctl --socket PATH press|release|tap|status [--json] [--timeout S]`: the client half of
// the control socket. The ArgumentParser subcommand calls `run` (or `send` for the raw reply).
// One deadline covers connecting, sending and the answer, so a daemon that is wedged, shutting
// down or saturated costs the caller a clear error and exit status 1, never a hang.

public enum ControlClient {
    /// Sends one command line and returns the one-line reply (without its newline).
    public static func send(command: String, socket path: String, timeout: Duration = defaultTimeout) throws(ControlError) -> String {
        guard let addr = UnixSocketAddress(path) else {
            throw ControlError("\(path): not a usable Unix socket path")
        }
        let clock = SystemMonotonicClock()
        let deadline = clock.now() + timeout
        let waited = controlSecondsText(timeout)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError("socket() failed: \(controlErrnoText(errno))") }
        defer { close(fd) }
        // connect() on a Unix socket whose queue is full waits, bounded by SO_SNDTIMEO.
        let sendTimeout = max(timeout, .milliseconds(1)).timespecComponents
        var tv = timeval(tv_sec: Int(sendTimeout.seconds), tv_usec: Int(sendTimeout.nanoseconds / 1000))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = addr.withSockaddr { connect(fd, $0, $1) }
        guard rc == 0 else {
            let e = errno
            switch e {
            case ENOENT:
                throw ControlError("no control socket at \(path): is omnid running? (the path is [control] socket in its config; pass --socket PATH)")
            case EACCES, EPERM:
                throw ControlError("permission denied on \(path): the socket is mode 0660; run as root or as a member of its group")
            case ECONNREFUSED:
                throw ControlError("nothing is listening on \(path): omnid is not running (the socket file is stale)")
            case EAGAIN, EINPROGRESS, ETIMEDOUT:
                throw ControlError("omnid did not accept the connection within \(waited) on \(path) (is it stuck?)")
            default:
                throw ControlError("cannot connect to \(path): \(controlErrnoText(e))")
            }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let noAnswer = ControlError("omnid did not answer within \(waited) on \(path) (is it stuck or shutting down?)")

        let bytes = Array((controlTrimmed(command) + "\n").utf8)
        var sent = 0
        // A server that turns the connection away (too many clients) says why and closes, maybe
        // before the request is sent: then its line is still there to read.
        var sendError: Int32?
        while sent < bytes.count && sendError == nil {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                guard wait(fd, for: Int16(POLLOUT), until: deadline, clock: clock) else { throw noAnswer }
            } else {
                sendError = errno
            }
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                reply += chunk[0..<n]
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard wait(fd, for: Int16(POLLIN), until: deadline, clock: clock) else { throw noAnswer }
            } else if reply.isEmpty {
                if let e = sendError { throw ControlError("sending to \(path) failed: \(controlErrnoText(e))") }
                throw ControlError("omnid closed the control connection without an answer")
            } else {
                break
            }
        }
        let line = reply.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        return String(decoding: line, as: UTF8.self)
    }

    /// What `omnid ctl` prints and its exit status: the reply (`status` in readable form unless
    /// `json`), or the error on stderr's behalf with exit status 1.
    public static func run(command: String, socket path: String, json: Bool = false,
                           timeout: Duration = defaultTimeout) -> (output: String, exitCode: Int32) {
        let reply: String
        do {
            reply = try send(command: command, socket: path, timeout: timeout)
        } catch {
            return ("omnid ctl: \(error.message)", 1)
        }
        if reply.hasPrefix("error:") { return ("omnid ctl: " + reply.dropFirst(6).drop { $0 == " " }, 1) }
        if ControlCommand(line: command) == .status, !json {
            guard let status = ApplianceStatus(json: reply) else { return ("omnid ctl: unexpected status reply: \(reply)", 1) }
            return (status.text, 0)
        }
        return (reply, 0)
    }

    /// Waits until `fd` is ready for `events`; false once `deadline` has passed.
    private static func wait(_ fd: Int32, for events: Int16, until deadline: Duration, clock: SystemMonotonicClock) -> Bool {
        while true {
            let now = clock.now()
            if now >= deadline { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, ioPollTimeout(until: deadline, now: now))
            if rc > 0 { return true }
            if rc < 0 && errno != EINTR { return true }  // let the next call report the error
        }
    }
}
