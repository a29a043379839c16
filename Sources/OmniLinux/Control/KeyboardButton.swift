#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import Synchronization

// The development button: a terminal key instead of a GPIO line. Terminals report key presses,
// not releases, so holding the space bar is seen through auto-repeat: the first space is the
// press, and the key counts as released once no repeat came in time (firstRepeatGap before the
// first repeat, repeatGap after). A space that never repeated was a short press, and is
// reported as released shortly after it went down (so it is a tap).
//
//   space: hold to talk (push-to-talk), tap to toggle / mute
//   p / r: press / release (latched, for terminals without auto-repeat)
//   t: tap    l: long press    d: double press

public final class KeyboardButton: @unchecked Sendable {
    // @unchecked: `saved` is written in start() before the thread runs and read in stop() after it ended.
    public let fd: Int32
    private let gestures: GestureSettings
    private let clock: any MonotonicClock
    private let logger: Logger
    private let firstRepeatGap: Duration
    private let repeatGap: Duration
    private let onEvent: @Sendable (GestureEvent) -> Void
    private let thread: ApplianceIOThread
    private let stopping = Atomic<Bool>(false)
    private var saved: termios?

    /// How long after its last key a short press counts as released.
    static let shortPress = Duration.milliseconds(60)

    public init(fd: Int32 = STDIN_FILENO, gestures: GestureSettings = GestureSettings(),
                clock: any MonotonicClock = SystemMonotonicClock(), logger: Logger = Logger(label: "omnid.keyboard"),
                firstRepeatGap: Duration = .milliseconds(700), repeatGap: Duration = .milliseconds(150),
                onEvent: @escaping @Sendable (GestureEvent) -> Void) throws(ApplianceIOError) {
        self.fd = fd
        var g = gestures
        g.debounce = .zero
        self.gestures = g
        self.clock = clock
        self.logger = logger
        self.firstRepeatGap = firstRepeatGap
        self.repeatGap = repeatGap
        self.onEvent = onEvent
        thread = try ApplianceIOThread(name: "omnid-keyboard")
    }

    /// Puts a terminal in non-canonical mode without echo (signals still work) and starts reading.
    public func start() throws(ApplianceIOError) {
        if isatty(fd) != 0 {
            var t = termios()
            if tcgetattr(fd, &t) == 0 {
                saved = t
                t.c_lflag &= ~tcflag_t(ICANON | ECHO)
                withUnsafeMutableBytes(of: &t.c_cc) { cc in
                    cc[Int(VMIN)] = 1
                    cc[Int(VTIME)] = 0
                }
                _ = tcsetattr(fd, TCSANOW, &t)
            }
        }
        try thread.start { [self] in run() }
        logger.info("keyboard button: hold space to talk (p/r press/release, t tap, l long press, d double press)")
    }

    /// Stops reading and restores the terminal.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        thread.wake()
        thread.join()
        if var t = saved {
            _ = tcsetattr(fd, TCSANOW, &t)
            saved = nil
        }
    }

    private func run() {
        var detector = GestureDetector(settings: gestures, initiallyPressed: false, at: clock.now())
        var held = false  // by the space bar (auto-released)
        var latched = false  // by `p`
        var lastKey = Duration.zero
        var releaseAt: Duration?
        var open = true
        while !stopping.load(ordering: .acquiring) {
            let deadline = [detector.nextDeadline, releaseAt].compactMap { $0 }.min()
            var fds = [pollfd(fd: thread.wakeFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: open ? fd : -1, events: Int16(POLLIN), revents: 0)]
            let rc = poll(&fds, 2, ioPollTimeout(until: deadline, now: clock.now()))
            if rc < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { thread.drainWake() }
            if stopping.load(ordering: .acquiring) { return }
            var events: [GestureEvent] = []
            if open && fds[1].revents != 0 {
                var buf = [UInt8](repeating: 0, count: 64)
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 {
                    if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        open = false  // end of input (not a terminal, or closed)
                        logger.debug("keyboard input closed")
                    }
                } else {
                    let now = clock.now()
                    for key in buf[0..<n] {
                        switch key {
                        case UInt8(ascii: " "):
                            if latched { break }
                            if !held {
                                held = true
                                events += detector.edge(pressed: true, at: now)
                                releaseAt = now + firstRepeatGap
                            } else {
                                releaseAt = now + repeatGap
                            }
                            lastKey = now
                        case UInt8(ascii: "p"):
                            latched = true
                            held = false
                            releaseAt = nil
                            events += detector.edge(pressed: true, at: now)
                        case UInt8(ascii: "r"):
                            latched = false
                            held = false
                            releaseAt = nil
                            events += detector.edge(pressed: false, at: now)
                        case UInt8(ascii: "t"):
                            events += detector.edge(pressed: true, at: now)
                            events += detector.edge(pressed: false, at: now)
                        case UInt8(ascii: "l"):
                            events.append(GestureEvent(.longPress, at: now))
                        case UInt8(ascii: "d"):
                            events.append(GestureEvent(.doublePress, at: now))
                        default:
                            break
                        }
                    }
                }
            }
            let now = clock.now()
            if held, let r = releaseAt, now >= r {
                held = false
                releaseAt = nil
                // The key went up somewhere after its last repeat; a key that never repeated
                // was a short press.
                events += detector.edge(pressed: false, at: min(now, lastKey + Self.shortPress))
            }
            events += detector.advance(to: now)
            for e in events { onEvent(e) }
        }
    }
}
