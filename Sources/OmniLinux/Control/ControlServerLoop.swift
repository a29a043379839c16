#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore

// The control thread's side of the conversation with its clients, one round per poll(): the
// controller's status answers, client I/O, timeouts, new connections. It waits for nothing but
// poll() (sockets are non-blocking, a status request is handed to the controller and answered
// later), so stop() can always wake and join the thread. The limits (idle timeout, client cap
// with the oldest idle client evicted, line length, status timeout) are ControlLimits.

struct ControlServerLoop {
    let limits: ControlLimits
    let clock: any MonotonicClock
    let logger: Logger
    let status: ControlServer.StatusProvider
    let replies: ControlStatusReplies
    /// Open connections, oldest first.
    private(set) var connections: [ControlConnection] = []
    private var detector: GestureDetector
    private var lastRequest: UInt64 = 0
    private var events: [GestureEvent] = []
    /// This round's time: one reading per round, so a round's decisions agree.
    private var now: Duration

    init(limits: ControlLimits, gestures: GestureSettings, clock: any MonotonicClock, logger: Logger,
         status: @escaping ControlServer.StatusProvider, replies: ControlStatusReplies) {
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.status = status
        self.replies = replies
        now = clock.now()
        detector = GestureDetector(settings: gestures, initiallyPressed: false, at: now)
    }

    /// When a round is due without any I/O (a gesture step, a client's idle or status timeout);
    /// nil when nothing is pending, and then the thread sleeps until a socket or its wake pipe.
    var nextDeadline: Duration? {
        let own = connections.compactMap { $0.deadline(idleTimeout: limits.idleTimeout) }.min()
        guard let gesture = detector.nextDeadline else { return own }
        return min(own ?? gesture, gesture)
    }

    /// The connections' poll entries, in `connections` order.
    var pollFDs: [pollfd] {
        connections.map { pollfd(fd: $0.fd, events: $0.pollEvents, revents: 0) }
    }

    /// One round after poll() returned. `revents` are the connections' results in the order of
    /// `pollFDs`; `listener` is set when it has connections to accept. Returns the button events.
    mutating func round(revents: [Int16], listener: Int32?) -> [GestureEvent] {
        now = clock.now()
        for (i, r) in zip(connections.indices, revents) where r != 0 {
            withConnection(i) { $0.io(&$1, revents: r) }
        }
        for reply in replies.take() {
            guard let i = connections.firstIndex(where: { !$0.closed && $0.pendingStatus?.request == reply.request }) else {
                continue  // its client left, or it came after the status timeout
            }
            connections[i].pendingStatus = nil
            withConnection(i) { $0.answer(&$1, reply.status?.json ?? "error: status not available yet") }
        }
        for i in connections.indices { withConnection(i) { $0.expire(&$1) } }
        if let listener { accept(listener) }
        for c in connections where c.closed { close(c.fd) }
        connections.removeAll { $0.closed }
        let reported = events + detector.advance(to: now)
        events.removeAll()
        return reported
    }

    /// Closes every connection (the thread is ending).
    mutating func closeAll() {
        for c in connections { close(c.fd) }
        connections.removeAll()
    }

    // MARK: Connections

    /// Works on connection `i` and on the loop's own state together (Swift's exclusivity rule
    /// forbids passing `&connections[i]` to a mutating method): the connection is moved out for
    /// the call and back (a swap, so its buffers are not copied).
    private mutating func withConnection(_ i: Int, _ body: (inout Self, inout ControlConnection) -> Void) {
        var c = ControlConnection(fd: -1, at: now)
        swap(&c, &connections[i])
        body(&self, &c)
        swap(&c, &connections[i])
    }

    private mutating func io(_ c: inout ControlConnection, revents r: Int16) {
        if r & Int16(POLLNVAL | POLLERR) != 0 {
            c.closed = true
            return
        }
        if r & Int16(POLLOUT) != 0 { pump(&c) }
        // POLLHUP: the client is gone; what it sent before leaving (a `press`) still counts.
        if r & Int16(POLLIN | POLLHUP) != 0 && !c.closed && !c.peerFinished && !c.isBlocked { read(&c) }
        if r & Int16(POLLHUP) != 0 { c.closed = true }
    }

    /// Reads at most a line's worth (the kernel keeps the rest), then answers what is complete.
    private mutating func read(_ c: inout ControlConnection) {
        var chunk = [UInt8](repeating: 0, count: limits.maxLineBytes + 1)
        let n = chunk.withUnsafeMutableBytes { Glibc.read(c.fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno != EAGAIN && errno != EINTR { c.closed = true }
            return
        }
        if n == 0 {
            c.peerFinished = true
        } else {
            c.inbound += chunk[0..<n]
        }
        pump(&c)
    }

    /// Sends what is pending, then answers further lines until the connection is blocked (a
    /// status request out, or a reply the client has not taken).
    private mutating func pump(_ c: inout ControlConnection) {
        c.flush(now: now)
        while !c.closed && !c.isBlocked {
            guard let line = c.nextLine(maxBytes: limits.maxLineBytes) else { break }
            switch line {
            case .tooLong:
                logger.debug("control: closed a connection whose line exceeds \(limits.maxLineBytes) bytes")
                c.close(saying: "error: line too long (max \(limits.maxLineBytes) bytes)", now: now)
            case .line(let text):
                c.lastProgress = now
                handle(text, on: &c)
            }
        }
        if c.peerFinished && !c.isBlocked && c.inbound.isEmpty { c.closed = true }
    }

    private mutating func answer(_ c: inout ControlConnection, _ text: String) {
        c.outbound += Array((text + "\n").utf8)
        pump(&c)
    }

    private mutating func expire(_ c: inout ControlConnection) {
        guard !c.closed else { return }
        if let p = c.pendingStatus {
            guard now >= p.deadline else { return }
            c.pendingStatus = nil
            logger.warning("control: no status from the controller within \(controlSecondsText(limits.statusTimeout))")
            answer(&c, "error: no status from omnid's controller within \(controlSecondsText(limits.statusTimeout)) (busy or shutting down)")
        } else if now >= c.lastProgress + limits.idleTimeout {
            logger.debug("control: closed a connection idle for \(controlSecondsText(limits.idleTimeout))")
            c.close(saying: "error: idle for \(controlSecondsText(limits.idleTimeout)); connection closed", now: now)
        }
    }

    private mutating func accept(_ listener: Int32) {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            // accept4 is not visible to Swift without _GNU_SOURCE; omnid never execs a child, so the
            // moment before FD_CLOEXEC leaks nothing.
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if connections.count(where: { !$0.closed }) >= limits.maxClients {
                // Make room by closing the connection idle the longest; if every one waits for
                // the controller (bounded by the status timeout), refuse the new one instead.
                let victim = connections.indices.filter { connections[$0].isEvictable }
                    .min { connections[$0].lastProgress < connections[$1].lastProgress }
                guard let victim else {
                    var refused = ControlConnection(fd: fd, at: now)
                    refused.close(saying: "error: too many control connections (at most \(limits.maxClients)), all busy; try again",
                                  now: now)
                    close(fd)
                    continue
                }
                logger.debug("control: \(limits.maxClients) connections; closing the one idle the longest")
                connections[victim].close(saying: "error: connection closed to make room for a new one (at most \(limits.maxClients))",
                                          now: now)
            }
            connections.append(ControlConnection(fd: fd, at: now))
        }
    }

    // MARK: Commands

    private mutating func handle(_ line: String, on c: inout ControlConnection) {
        guard let command = ControlCommand(line: line) else {
            let shown = controlTrimmed(line).prefix(40)
            answer(&c, "error: unknown command \"\(shown)\"; use \(ControlCommand.usage)")
            return
        }
        logger.debug("control: \(command.rawValue)")
        switch command {
        case .press:
            events += detector.edge(pressed: true, at: now)
        case .release:
            events += detector.edge(pressed: false, at: now)
        case .tap:
            events += detector.edge(pressed: true, at: now)
            events += detector.edge(pressed: false, at: now)
        case .longPress:
            events.append(GestureEvent(.longPress, at: now))
        case .doublePress:
            events.append(GestureEvent(.doublePress, at: now))
        case .status:
            requestStatus(for: &c)
            return
        }
        answer(&c, "ok")
    }

    /// Hands the request to the controller and returns at once; the answer comes back through
    /// `replies` (possibly before this returns, when the provider answers inline).
    private mutating func requestStatus(for c: inout ControlConnection) {
        lastRequest += 1
        let request = lastRequest
        c.pendingStatus = (request, now + limits.statusTimeout)
        let replies = self.replies
        status { replies.deliver(request, $0) }
    }
}
