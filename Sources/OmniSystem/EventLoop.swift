#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import Synchronization

// One thread that runs posted work and timers in order, and sleeps in between: omnid's
// controller loop (ControllerLoop, OmniLinux). It sleeps in poll() on an eventfd until work is
// posted or its next timer is due; nothing wakes it otherwise.
//
// It also watches file descriptors for others (`watch`): the audio engine's eventfd, so the
// audio thread's reports (captured audio, the first answer frame, a drain) wake this thread
// directly instead of a monitor thread that would post them here.
//
// A part that has a poll of its own can take the sleep over (`attach`): the websocket client
// then sleeps in libwebsockets' poll (LWSClientTransport hosted on the loop), so the link's
// socket, posted work, the watched descriptors and timers all wake this one thread, and a
// message received or sent costs no hop between threads. The sleeper's `prepare` runs before
// every sleep (its own bookkeeping, on this thread); its `wake` replaces the eventfd write; it
// polls the watched descriptors too (`watches` tells it which) and reports them readable with
// `readable`; when `prepare` says it is done, the loop goes back to its own poll.
//
// Rules: `post` from any thread (from the loop's own thread it only queues: the loop looks at
// its queue before it sleeps); timers from the loop's thread only (post to set one from
// elsewhere); work runs in the order posted, timers when due, never in the middle of other work.

public final class EventLoop: @unchecked Sendable {
    // @unchecked: `shared` is behind its mutex; `timers`, `nextTimer` and `sleeper` are touched
    // on the loop's thread only; the rest is immutable or atomic.

    /// A part that takes over the loop's sleep (see above).
    public struct Sleeper {
        /// Before each sleep, on the loop's thread. False: the part is done; the loop detaches it.
        public var prepare: () -> Bool
        /// Sleeps until `wake`, an event of the part's own, or `deadline` (monotonic ns; nil: none).
        public var sleep: (_ deadline: Int?) -> Void
        /// Any thread: ends `sleep` soon.
        public var wake: @Sendable () -> Void
        /// The loop stops with the part still attached: end it (on the loop's thread).
        public var finish: () -> Void
        /// The descriptors to poll besides its own (id → fd), whenever they change.
        public var watches: (_ fds: [Int: Int32]) -> Void

        public init(prepare: @escaping () -> Bool, sleep: @escaping (_ deadline: Int?) -> Void,
                    wake: @escaping @Sendable () -> Void, finish: @escaping () -> Void,
                    watches: @escaping (_ fds: [Int: Int32]) -> Void) {
            self.prepare = prepare
            self.sleep = sleep
            self.wake = wake
            self.finish = finish
            self.watches = watches
        }
    }

    /// A timer set with `schedule`; pass it to `cancel`.
    public struct Timer: Hashable, Sendable {
        let id: Int
    }

    /// A descriptor watched with `watch`; pass it to `unwatch`.
    public struct Watch: Hashable, Sendable {
        public let id: Int
    }

    private struct Shared {
        var jobs: [@Sendable () -> Void] = []
        var stopping = false
        /// The current sleeper's wake, nil for the eventfd.
        var wake: (@Sendable () -> Void)?
    }

    public let name: String
    private let shared = Mutex(Shared())
    private let eventFD: Int32
    /// pthread_self() of the loop's thread (0 before it runs).
    private let threadID = Atomic<UInt>(0)
    private let thread = Mutex<PThread?>(nil)
    private var timers: [Int: (deadline: Int, work: () -> Void)] = [:]
    private var nextTimer = 0
    private var sleeper: Sleeper?
    private var watched: [Int: (fd: Int32, handler: () -> Void)] = [:]
    /// The watches found readable since their handlers last ran, in the order found. Kept apart
    /// from `watched`: marking an entry there, and clearing it while iterating, cost a dictionary
    /// copy and a coroutine allocation on every pass (2 % of the loop's CPU in the conversation).
    private var ready: [Int] = []
    private var nextWatch = 0
    /// The posted jobs being run, swapped with the queue's storage under the lock: both arrays
    /// keep their capacity, so a pass allocates nothing for them.
    private var running: [@Sendable () -> Void] = []

    /// Starts the loop's thread (`stackBytes` of address space reserved; touched pages count).
    public init(name: String, stackBytes: Int = 1 << 20) throws(ThreadStartError) {
        self.name = name
        eventFD = omni_eventfd()
        let t = try PThread.start(PThread.Options(name: name, stackBytes: stackBytes)) { [self] in run() }
        thread.withLock { $0 = t }
    }

    deinit {
        if eventFD >= 0 { close(eventFD) }
    }

    /// Runs `work` on the loop's thread after the work posted before it.
    public func post(_ work: @escaping @Sendable () -> Void) {
        let current = isCurrent
        let wake = shared.withLock { s -> (@Sendable () -> Void)?? in
            let idle = s.jobs.isEmpty
            s.jobs.append(work)
            // A non-empty queue already has a wake-up on its way (or the loop is running).
            return idle && !current ? .some(s.wake) : .none
        }
        guard let wake else { return }
        if let wake { wake() } else { signal() }
    }

    /// True on the loop's thread.
    public var isCurrent: Bool {
        threadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    /// Runs `work` at `deadline` (CLOCK_MONOTONIC ns) or soon after. Loop's thread only.
    public func schedule(at deadline: Int, _ work: @escaping () -> Void) -> Timer {
        precondition(isCurrent, "EventLoop \(name): timers are set on the loop's thread")
        nextTimer += 1
        timers[nextTimer] = (deadline, work)
        return Timer(id: nextTimer)
    }

    /// Cancels `timer` (a timer that has fired or was cancelled: nothing). Loop's thread only.
    public func cancel(_ timer: Timer) {
        precondition(isCurrent, "EventLoop \(name): timers are cancelled on the loop's thread")
        timers[timer.id] = nil
    }

    /// Calls `handler` on the loop whenever `fd` is readable (level-triggered: the handler
    /// reads it, or it is called again). Loop's thread only.
    public func watch(_ fd: Int32, _ handler: @escaping () -> Void) -> Watch {
        precondition(isCurrent, "EventLoop \(name): watch on the loop's thread")
        nextWatch += 1
        watched[nextWatch] = (fd, handler)
        sleeper?.watches(watchedFDs)
        return Watch(id: nextWatch)
    }

    /// Stops watching (its handler is not called again). Loop's thread only.
    public func unwatch(_ w: Watch) {
        precondition(isCurrent, "EventLoop \(name): unwatch on the loop's thread")
        guard watched.removeValue(forKey: w.id) != nil else { return }
        ready.removeAll { $0 == w.id }
        sleeper?.watches(watchedFDs)
    }

    /// A sleeper saw the descriptor of watch `id` readable: its handler runs before the next
    /// sleep. Loop's thread only.
    public func readable(_ id: Int) {
        if watched[id] != nil, !ready.contains(id) { ready.append(id) }
    }

    private var watchedFDs: [Int: Int32] { watched.mapValues(\.fd) }

    /// Hands the loop's sleep to `sleeper` (see above). Loop's thread only.
    public func attach(_ sleeper: Sleeper) {
        precondition(isCurrent, "EventLoop \(name): attach on the loop's thread")
        self.sleeper?.finish()
        self.sleeper = sleeper
        shared.withLock { $0.wake = sleeper.wake }
        sleeper.watches(watchedFDs)
    }

    /// Ends the loop once the work posted so far has run; a sleeper still attached is finished.
    /// Waits for the thread unless called on it.
    public func stop() {
        let wake = shared.withLock { s -> (@Sendable () -> Void)? in
            s.stopping = true
            return s.wake
        }
        if let wake { wake() } else { signal() }
        if !isCurrent { thread.withLock { $0 }?.join() }
    }

    /// Monotonic ns (CLOCK_MONOTONIC), the clock of `schedule`.
    public static func now() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    // MARK: the loop's thread

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        while true {
            let stopping = shared.withLock { s -> Bool in
                swap(&running, &s.jobs)
                return s.stopping
            }
            for job in running { job() }
            running.removeAll(keepingCapacity: true)
            runReadyWatches()
            runDueTimers()
            if let s = sleeper, !s.prepare() { detachSleeper() }
            let (more, stop) = shared.withLock { (!$0.jobs.isEmpty, $0.stopping) }
            if more { continue }
            if stopping || stop {
                if let s = sleeper {
                    detachSleeper()
                    s.finish()
                }
                break
            }
            let deadline = earliestTimer()?.deadline
            if let deadline, deadline <= Self.now() { continue }
            if !ready.isEmpty { continue }
            if let sleeper {
                sleeper.sleep(deadline)
            } else {
                sleepOnEventFD(until: deadline)
            }
        }
    }

    private func detachSleeper() {
        sleeper = nil
        shared.withLock { $0.wake = nil }
    }

    /// The handlers of the descriptors found readable (each may unwatch others).
    private func runReadyWatches() {
        while !ready.isEmpty {
            let id = ready.removeFirst()
            watched[id]?.handler()
        }
    }

    /// Runs the timers due now, earliest first (each may set or cancel others).
    private func runDueTimers() {
        guard !timers.isEmpty else { return }
        let now = Self.now()
        while let (id, deadline) = earliestTimer(), deadline <= now, let timer = timers.removeValue(forKey: id) {
            timer.work()
        }
    }

    /// The timer due first (a handful are set at a time: a scan allocates nothing).
    private func earliestTimer() -> (id: Int, deadline: Int)? {
        var best: (id: Int, deadline: Int)?
        for (id, t) in timers where best == nil || t.deadline < best!.deadline || (t.deadline == best!.deadline && id < best!.id) {
            best = (id, t.deadline)
        }
        return best
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(eventFD, &one, 8)
    }

    /// The loop's own sleep: poll() on its eventfd and the watched descriptors. (Without an
    /// eventfd, which the kernel may refuse, it looks at its queue every 10 ms.)
    private func sleepOnEventFD(until deadline: Int?) {
        var limit = deadline
        if eventFD < 0 { limit = min(deadline ?? .max, Self.now() + 10_000_000) }
        var fds = [pollfd(fd: eventFD, events: Int16(POLLIN), revents: 0)]
        var ids = [0]
        for (id, w) in watched {
            fds.append(pollfd(fd: w.fd, events: Int16(POLLIN), revents: 0))
            ids.append(id)
        }
        var timeout: Int32 = -1
        if let limit { timeout = Int32(clamping: max(0, (limit - Self.now() + 999_999) / 1_000_000)) }
        guard poll(&fds, nfds_t(fds.count), timeout) > 0 else { return }
        if fds[0].revents != 0 {
            var count: UInt64 = 0
            _ = read(eventFD, &count, 8)
        }
        for i in 1..<fds.count where fds[i].revents != 0 { readable(ids[i]) }
    }
}
