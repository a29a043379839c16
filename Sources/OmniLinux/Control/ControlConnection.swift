#if canImport(Glibc)
import Glibc
#endif

// One accepted connection of the control socket and where its conversation stands. Owned by
// the control thread. A connection answers its lines strictly in order: while a status request
// is with the controller or a reply has not been taken by the client yet, its further lines
// wait (and it is not read from), so one client's memory stays at a line and a reply.

struct ControlConnection {
    let fd: Int32
    /// Bytes received and not yet answered (at most one line plus one read).
    var inbound: [UInt8] = []
    /// Reply bytes the socket did not take yet.
    var outbound: [UInt8] = []
    /// The status request it waits for, and when the server stops waiting.
    var pendingStatus: (request: UInt64, deadline: Duration)?
    /// When it last sent a complete line or took its whole reply (or connected).
    var lastProgress: Duration
    /// The client shut down its sending side: answer what it sent, then close.
    var peerFinished = false
    /// To be closed at the end of this round.
    var closed = false

    init(fd: Int32, at now: Duration) {
        self.fd = fd
        lastProgress = now
    }

    /// Waiting for the controller or for the client to read: its next line must wait.
    var isBlocked: Bool { pendingStatus != nil || !outbound.isEmpty }

    /// Whether the server would close it to make room (never while it waits for the controller:
    /// that wait is bounded by the status timeout already).
    var isEvictable: Bool { !closed && pendingStatus == nil }

    /// What to poll it for. Not POLLIN after end of input (it would stay readable for ever) nor
    /// while blocked (the kernel holds the client's next lines).
    var pollEvents: Int16 {
        if closed { return 0 }
        var e: Int16 = 0
        if !peerFinished && !isBlocked { e |= Int16(POLLIN) }
        if !outbound.isEmpty { e |= Int16(POLLOUT) }
        return e
    }

    /// When the server must act on it without I/O: its status request's timeout, else its idle
    /// timeout.
    func deadline(idleTimeout: Duration) -> Duration? {
        if closed { return nil }
        if let p = pendingStatus { return p.deadline }
        return lastProgress + idleTimeout
    }

    enum Line: Equatable {
        case line(String)
        case tooLong
    }

    /// Takes the next complete line out of `inbound` (at end of input, the unterminated rest
    /// counts as a line), or reports one longer than `maxBytes` without its newline.
    mutating func nextLine(maxBytes: Int) -> Line? {
        let newline = inbound.firstIndex(of: UInt8(ascii: "\n"))
        let end = newline ?? (peerFinished && !inbound.isEmpty ? inbound.count : nil)
        guard let end else { return inbound.count > maxBytes ? .tooLong : nil }
        if end > maxBytes { return .tooLong }
        let text = String(decoding: inbound[..<end], as: UTF8.self)
        inbound.removeSubrange(..<min(end + 1, inbound.count))
        return .line(text)
    }

    /// Writes what the socket takes now; the rest waits for POLLOUT (never a busy-wait).
    mutating func flush(now: Duration) {
        while !outbound.isEmpty && !closed {
            let n = outbound.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if n > 0 {
                outbound.removeFirst(n)
                if outbound.isEmpty { lastProgress = now }
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                closed = true
            }
        }
    }

    /// A last line before the connection is dropped (best effort: not waited for).
    mutating func close(saying text: String, now: Duration) {
        outbound += Array((text + "\n").utf8)
        flush(now: now)
        closed = true
    }
}
