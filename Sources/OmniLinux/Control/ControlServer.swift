#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import Synchronization

// The control socket (`[control] socket` in the config, mode 0660): a software button and a
// status query for `omnid ctl`. One thread: accept, read lines, answer (ControlServerLoop).
// Button commands go through a GestureDetector (no debounce), so `press` … `release` gives the
// same events as the real button, long press included.
//
// The thread never waits for the controller. A `status` request is handed over through the
// `status` provider, which must return at once (the daemon posts the work to its queue); the
// answer comes back through ControlStatusReplies, which wakes the thread to write it. So the
// controller may call stop() — from its own queue, with clients mid-request — and the join
// returns: the thread only ever sleeps in poll(), and stop() wakes it.

public final class ControlServer: Sendable {
    /// Hands the controller's answer back to the server; call it once, from any thread.
    public typealias StatusReply = @Sendable (ApplianceStatus?) -> Void
    /// Asks the controller for the status; must not block (post the work, answer later).
    public typealias StatusProvider = @Sendable (@escaping StatusReply) -> Void

    public let path: String
    public let limits: ControlLimits
    private let gestures: GestureSettings
    private let clock: any MonotonicClock
    private let logger: Logger
    private let onButton: @Sendable (GestureEvent) -> Void
    private let status: StatusProvider
    private let thread: ApplianceIOThread
    private let replies: ControlStatusReplies
    private let stopping = Atomic<Bool>(false)
    /// The socket file we created, so stop() removes only ours.
    private let boundFile = Mutex<ControlSocketFile.Identity?>(nil)

    /// - Parameters:
    ///   - gestures: the board's gesture settings (its debounce is ignored: software needs none).
    ///   - clock: the time for gestures and for the limits' timeouts.
    ///   - onButton: called on the control thread for each button event; must not block.
    ///   - status: called on the control thread for `status`; must return at once and answer
    ///     later through the reply it is given (e.g. `loop.post { reply(self.status()) }`).
    ///     An answer that does not come within `limits.statusTimeout` gets the client an error.
    public init(path: String, gestures: GestureSettings = GestureSettings(), limits: ControlLimits = ControlLimits(),
                clock: any MonotonicClock = SystemMonotonicClock(), logger: Logger = Logger(label: "omnid.control"),
                onButton: @escaping @Sendable (GestureEvent) -> Void,
                status: @escaping StatusProvider) throws(ControlError) {
        self.path = path
        var g = gestures
        g.debounce = .zero
        self.gestures = g
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.onButton = onButton
        self.status = status
        let thread: ApplianceIOThread
        do {
            thread = try ApplianceIOThread(name: "omnid-control")
        } catch {
            throw ControlError("control socket: \(error)")
        }
        self.thread = thread
        replies = ControlStatusReplies { thread.wake() }
    }

    /// Creates the socket (replacing a stale one) and starts serving.
    public func start() throws(ControlError) {
        let (fd, identity) = try ControlSocketFile.bind(path, logger: logger)
        boundFile.withLock { $0 = identity }
        do {
            try thread.start { [self] in serve(fd) }
        } catch {
            close(fd)
            ControlSocketFile.remove(path, ifItIs: identity)
            throw ControlError("control socket: \(error)")
        }
        logger.info("control socket at \(path)")
    }

    /// Stops serving, closes every connection and removes the socket file. Returns promptly
    /// from any thread or queue, the controller's included: status requests still out are
    /// dropped, not waited for.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        replies.close()
        thread.wake()
        thread.join()
        ControlSocketFile.remove(path, ifItIs: boundFile.withLock { $0 })
    }

    private func serve(_ listener: Int32) {
        var loop = ControlServerLoop(limits: limits, gestures: gestures, clock: clock, logger: logger,
                                     status: status, replies: replies)
        defer {
            loop.closeAll()
            close(listener)
        }
        while !stopping.load(ordering: .acquiring) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: thread.wakeFD, events: Int16(POLLIN), revents: 0)] + loop.pollFDs
            let rc = poll(&fds, nfds_t(fds.count), ioPollTimeout(until: loop.nextDeadline, now: clock.now()))
            if rc < 0 {
                if errno == EINTR { continue }
                logger.error("control socket poll failed: \(controlErrnoText(errno)); control socket closed")
                return
            }
            // Drained before the round takes the replies, so an answer that comes later wakes
            // the next poll.
            if fds[1].revents != 0 { thread.drainWake() }
            if stopping.load(ordering: .acquiring) { return }
            let accepting = fds[0].revents & Int16(POLLIN) != 0
            let events = loop.round(revents: fds[2...].map(\.revents), listener: accepting ? listener : nil)
            for e in events { onButton(e) }
        }
    }
}
