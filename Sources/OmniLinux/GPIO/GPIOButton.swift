#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import Synchronization

// The GPIO thread of the architecture page: it owns the button line's fd, reads edges with
// their kernel timestamps, debounces them and detects gestures (GestureDetector), and hands
// the resulting ButtonEvents to `onEvent` (which posts them to the controller). It never
// touches the LEDs or the appliance state.

public final class GPIOButton: Sendable {
    public let line: GPIOInputLine
    public let gestures: GestureSettings
    private let clock: any MonotonicClock
    private let logger: Logger
    private let onEvent: @Sendable (GestureEvent) -> Void
    private let thread: ApplianceIOThread
    private let stopping = Atomic<Bool>(false)

    /// - Parameter onEvent: called on the GPIO thread for every button event, in order.
    public init(line: GPIOInputLine, gestures: GestureSettings, clock: any MonotonicClock = SystemMonotonicClock(),
                logger: Logger = Logger(label: "omnid.gpio"),
                onEvent: @escaping @Sendable (GestureEvent) -> Void) throws(ApplianceIOError) {
        self.line = line
        self.gestures = gestures
        self.clock = clock
        self.logger = logger
        self.onEvent = onEvent
        thread = try ApplianceIOThread(name: "omnid-gpio")
    }

    /// Reads the line's level and starts the thread.
    public func start() throws(GPIOError) {
        let initial = try line.value()
        if initial { logger.notice("button \(line.spec.line) is pressed at start; waiting for its release") }
        do {
            try thread.start { [self] in run(initiallyPressed: initial) }
        } catch {
            throw GPIOError(stage: .io, code: error.code, line: line.spec.line)
        }
        logger.info("button on \(line.resolved) (\(line.spec.line), bias \(line.spec.bias.rawValue)\(line.spec.activeLow ? ", active-low" : ""))")
    }

    /// Stops the thread and waits for it. The line stays requested until `line.close()`.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        thread.wake()
        thread.join()
    }

    /// A line whose chip goes away wakes no poller on Linux before 6.2 (Debian 12's 6.1:
    /// unbinding gpio-sim left the button dead, seen in the VM test). The chip's /dev node is
    /// removed then, so an inotify watch on /dev wakes the thread for that event, not a timer:
    /// an idle button thread sleeps until an edge, a stop or a change of /dev. -1 when inotify
    /// is unavailable (the line is then checked on errors only, as before).
    private static func watchDeviceNodes() -> Int32 {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return -1 }
        guard inotify_add_watch(fd, "/dev", UInt32(IN_DELETE)) >= 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Reads and drops the pending inotify events (only "something in /dev was removed" matters).
    private static func drainDeviceEvents(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    private func run(initiallyPressed: Bool) {
        var detector = GestureDetector(settings: gestures, initiallyPressed: initiallyPressed, at: clock.now())
        var lastEdge = Duration.zero
        var warnedClock = false
        let deviceNodes = Self.watchDeviceNodes()
        defer { if deviceNodes >= 0 { close(deviceNodes) } }
        var fds = [pollfd(fd: line.fileDescriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: thread.wakeFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: deviceNodes, events: Int16(POLLIN), revents: 0)]
        while !stopping.load(ordering: .acquiring) {
            if fds[0].fd < 0 {
                // The line is lost: request it again every second until its chip is back.
                var wake = [fds[1]]
                wake[0].revents = 0
                _ = poll(&wake, 1, 1000)
                if wake[0].revents != 0 { thread.drainWake() }
                if stopping.load(ordering: .acquiring) { break }
                guard (try? line.reopen()) != nil else { continue }
                let pressed = (try? line.value()) ?? false
                detector = GestureDetector(settings: gestures, initiallyPressed: pressed, at: clock.now())
                lastEdge = .zero
                fds[0].fd = line.fileDescriptor
                logger.notice("button line back on \(line.resolved)")
                continue
            }
            let timeout = ioPollTimeout(until: detector.nextDeadline, now: clock.now())
            fds[0].revents = 0
            fds[1].revents = 0
            fds[2].revents = 0
            let rc = poll(&fds, 3, timeout)
            if rc < 0 && errno != EINTR {
                logger.error("button poll failed: \(String(cString: strerror(errno))); button disabled")
                return
            }
            if fds[1].revents != 0 { thread.drainWake() }
            if stopping.load(ordering: .acquiring) { break }
            if rc > 0 && fds[2].revents != 0 {
                Self.drainDeviceEvents(fds[2].fd)
                do {
                    _ = try line.value()
                } catch {
                    logger.error("button line \(line.resolved) lost (\(error.message)); requesting it again every second")
                    lineLost(&fds, &detector)
                    continue
                }
            }
            var events: [GestureEvent] = []
            if fds[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && fds[0].revents & Int16(POLLIN) == 0 {
                logger.error("button line \(line.resolved) lost (poll revents \(fds[0].revents)); requesting it again every second")
                lineLost(&fds, &detector)
                continue
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                do {
                    while true {
                        let edges = try line.readEdges()
                        if edges.isEmpty { break }
                        let now = clock.now()
                        for e in edges {
                            var t = e.timestamp
                            // Kernels before 5.7 stamp v1 events with CLOCK_REALTIME: use our clock then.
                            if t > now + .seconds(1) || t < now - .seconds(10) {
                                if !warnedClock {
                                    logger.notice("GPIO edge timestamps are not CLOCK_MONOTONIC (kernel < 5.7?); using the read time")
                                    warnedClock = true
                                }
                                t = now
                            }
                            t = max(t, lastEdge)
                            lastEdge = t
                            events += detector.edge(pressed: e.rising, at: t)
                        }
                        if edges.count < 16 { break }
                    }
                } catch {
                    logger.error("reading button edges failed: \(error.message); requesting the line again every second")
                    lineLost(&fds, &detector)
                    continue
                }
            }
            events += detector.advance(to: clock.now())
            for e in events {
                logger.debug("button: \(e.event.rawValue)")
                onEvent(e)
            }
        }
    }

    /// The line went away: a press in progress ends (released), and the loop reopens the line.
    private func lineLost(_ fds: inout [pollfd], _ detector: inout GestureDetector) {
        line.close()
        fds[0].fd = -1
        let now = clock.now()
        for e in detector.edge(pressed: false, at: now) + detector.advance(to: now + gestures.debounce) { onEvent(e) }
    }
}
