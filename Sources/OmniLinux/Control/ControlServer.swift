#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import Synchronization

// The control socket (`[control] socket` in the config, mode 0660): a software button and a
// status query for `omnid ctl`. One thread: accept, read lines, answer. Button commands go
// through a GestureDetector (no debounce), so `press` … `release` gives the same events as the
// real button, long press included.

public final class ControlServer: Sendable {
    public let path: String
    private let gestures: GestureSettings
    private let clock: any MonotonicClock
    private let logger: Logger
    private let onButton: @Sendable (GestureEvent) -> Void
    private let status: @Sendable () -> ApplianceStatus?
    private let thread: ApplianceIOThread
    private let stopping = Atomic<Bool>(false)
    private let listenFD = Atomic<Int32>(-1)
    /// The socket file we created (device, inode), so stop() removes only ours.
    private let boundFile = Mutex<(UInt64, UInt64)?>(nil)

    static let maxClients = 16
    static let maxLine = 256

    /// - Parameters:
    ///   - gestures: the board's gesture settings (its debounce is ignored: software needs none).
    ///   - onButton: called on the control thread for each button event.
    ///   - status: called on the control thread for `status`; typically a synchronous hop to the
    ///     controller queue (never call the server from that queue while it waits).
    public init(path: String, gestures: GestureSettings = GestureSettings(), clock: any MonotonicClock = SystemMonotonicClock(),
                logger: Logger = Logger(label: "omnid.control"),
                onButton: @escaping @Sendable (GestureEvent) -> Void,
                status: @escaping @Sendable () -> ApplianceStatus?) throws(ControlError) {
        self.path = path
        var g = gestures
        g.debounce = .zero
        self.gestures = g
        self.clock = clock
        self.logger = logger
        self.onButton = onButton
        self.status = status
        do {
            thread = try ApplianceIOThread(name: "omnid-control")
        } catch {
            throw ControlError("control socket: \(error)")
        }
    }

    /// Creates the socket (replacing a stale one) and starts serving.
    public func start() throws(ControlError) {
        let fd = try bindSocket()
        listenFD.store(fd, ordering: .releasing)
        do {
            try thread.start { [self] in serve(fd) }
        } catch {
            close(fd)
            unlink(path)
            throw ControlError("control socket: \(error)")
        }
        logger.info("control socket at \(path)")
    }

    /// Stops serving, closes every connection and removes the socket file.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        thread.wake()
        thread.join()
        if let (dev, ino) = boundFile.withLock({ $0 }) {
            var st = stat()
            if lstat(path, &st) == 0, UInt64(st.st_dev) == dev, UInt64(st.st_ino) == ino { unlink(path) }
        }
    }

    // MARK: Socket setup

    private func bindSocket() throws(ControlError) -> Int32 {
        let key = "[control] socket"
        guard controlUnixAddress(path) != nil, controlUnixAddress(path + ".new") != nil else {
            throw ControlError("\(key) \(path): too long for a Unix socket path (at most 103 bytes)")
        }
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        var st = stat()
        if !dir.isEmpty && stat(dir, &st) != 0 {
            throw ControlError("\(key) \(path): directory \(dir) does not exist (\(controlErrnoText(errno))); "
                + "under systemd RuntimeDirectory=omnid creates /run/omnid")
        }
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw ControlError("\(key) \(path) exists and is not a socket; remove it or choose another path")
            }
            if Self.someoneListens(path) {
                throw ControlError("\(key) \(path): another omnid is already listening there")
            }
            unlink(path)
            logger.info("removed stale control socket \(path)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError("control socket: socket() failed: \(controlErrnoText(errno))") }
        // Bind under a temporary name, set the mode, then move it into place: the socket never
        // exists at `path` with the wrong mode.
        let tmp = path + ".new"
        unlink(tmp)
        var addr = controlUnixAddress(tmp)!
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let e = errno
            close(fd)
            let hint = e == EACCES ? "; omnid needs write access to \(dir.isEmpty ? "." : dir)" : ""
            throw ControlError("\(key) \(path): bind failed: \(controlErrnoText(e))\(hint)")
        }
        guard chmod(tmp, 0o660) == 0, rename(tmp, path) == 0 else {
            let e = errno
            close(fd)
            unlink(tmp)
            throw ControlError("\(key) \(path): could not set mode 0660 and move the socket into place: \(controlErrnoText(e))")
        }
        guard listen(fd, 8) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw ControlError("\(key) \(path): listen failed: \(controlErrnoText(e))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if lstat(path, &st) == 0 { boundFile.withLock { $0 = (UInt64(st.st_dev), UInt64(st.st_ino)) } }
        return fd
    }

    /// Whether a server accepts connections on `path` (a live omnid, not a stale file).
    static func someoneListens(_ path: String) -> Bool {
        guard var addr = controlUnixAddress(path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0
    }

    // MARK: Serving

    private struct Client {
        var fd: Int32
        var buffer: [UInt8] = []
    }

    private func serve(_ listener: Int32) {
        var detector = GestureDetector(settings: gestures, initiallyPressed: false, at: clock.now())
        var clients: [Client] = []
        defer {
            for c in clients { close(c.fd) }
            close(listener)
        }
        while !stopping.load(ordering: .acquiring) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: thread.wakeFD, events: Int16(POLLIN), revents: 0)]
            fds += clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let rc = poll(&fds, nfds_t(fds.count), pollTimeout(until: detector.nextDeadline, now: clock.now()))
            if rc < 0 && errno != EINTR {
                logger.error("control socket poll failed: \(controlErrnoText(errno)); control socket closed")
                return
            }
            if fds[1].revents != 0 { thread.drainWake() }
            if stopping.load(ordering: .acquiring) { return }
            var events: [GestureEvent] = []
            // Clients first (their indices match fds[2...]), then new connections.
            var closed: Set<Int32> = []
            for i in clients.indices where fds[i + 2].revents != 0 {
                if !readClient(&clients[i], detector: &detector, events: &events) { closed.insert(clients[i].fd) }
            }
            for fd in closed { close(fd) }
            clients.removeAll { closed.contains($0.fd) }
            if fds[0].revents & Int16(POLLIN) != 0 {
                while true {
                    let fd = accept(listener, nil, nil)
                    if fd < 0 { break }
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                    if clients.count >= Self.maxClients {
                        Self.reply(fd, "error: too many control connections")
                        close(fd)
                    } else {
                        clients.append(Client(fd: fd))
                    }
                }
            }
            events += detector.advance(to: clock.now())
            for e in events { onButton(e) }
        }
    }

    /// Reads what the client sent and answers each complete line; false when it is done.
    private func readClient(_ c: inout Client, detector: inout GestureDetector, events: inout [GestureEvent]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 512)
        let n = chunk.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
        if n < 0 { return errno == EAGAIN || errno == EINTR }
        if n == 0 { return false }
        c.buffer += chunk[0..<n]
        while let nl = c.buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: c.buffer[..<nl], as: UTF8.self)
            c.buffer.removeSubrange(...nl)
            let answer = handle(line, detector: &detector, events: &events)
            if !Self.reply(c.fd, answer) { return false }
        }
        if c.buffer.count > Self.maxLine {
            Self.reply(c.fd, "error: line too long")
            return false
        }
        return true
    }

    private func handle(_ line: String, detector: inout GestureDetector, events: inout [GestureEvent]) -> String {
        guard let command = ControlCommand(line: line) else {
            let shown = controlTrimmed(line).prefix(40)
            return "error: unknown command \"\(shown)\"; use \(ControlCommand.usage)"
        }
        let now = clock.now()
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
            guard let s = status() else { return "error: status not available yet" }
            return s.json
        }
        return "ok"
    }

    @discardableResult
    private static func reply(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array((text + "\n").utf8)
        var sent = 0
        var spins = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) && spins < 100 {
                spins += 1
                usleep(1000)
            } else {
                return false
            }
        }
        return true
    }
}
