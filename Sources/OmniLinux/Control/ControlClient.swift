#if canImport(Glibc)
import Glibc
#endif
import OmniCore

// `omnid ctl --socket PATH press|release|tap|status [--json]`: the client half of the control
// socket. The ArgumentParser subcommand calls `run` (or `send` for the raw reply).

public enum ControlClient {
    /// Sends one command line and returns the one-line reply (without its newline).
    public static func send(command: String, socket path: String, timeout: Duration = .seconds(3)) throws(ControlError) -> String {
        guard var addr = controlUnixAddress(path) else {
            throw ControlError("\(path): not a usable Unix socket path")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError("socket() failed: \(controlErrnoText(errno))") }
        defer { close(fd) }
        let (s, atto) = timeout.components
        var tv = timeval(tv_sec: Int(s), tv_usec: Int(atto / 1_000_000_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            switch e {
            case ENOENT:
                throw ControlError("no control socket at \(path): is omnid running? (the path is [control] socket in its config; pass --socket PATH)")
            case EACCES, EPERM:
                throw ControlError("permission denied on \(path): the socket is mode 0660; run as root or as a member of its group")
            case ECONNREFUSED:
                throw ControlError("nothing is listening on \(path): omnid is not running (the socket file is stale)")
            default:
                throw ControlError("cannot connect to \(path): \(controlErrnoText(e))")
            }
        }
        let bytes = Array((controlTrimmed(command) + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ControlError("sending to \(path) failed: \(controlErrnoText(errno))") }
            sent += n
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw ControlError("omnid did not answer within \(s) s on \(path)")
            }
            guard n > 0 else {
                if reply.isEmpty { throw ControlError("omnid closed the control connection without an answer") }
                break
            }
            reply += chunk[0..<n]
        }
        let line = reply.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        return String(decoding: line, as: UTF8.self)
    }

    /// What `omnid ctl` prints and its exit status: the reply (`status` in readable form unless
    /// `json`), or the error on stderr's behalf with exit status 1.
    public static func run(command: String, socket path: String, json: Bool = false,
                           timeout: Duration = .seconds(3)) -> (output: String, exitCode: Int32) {
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
}
