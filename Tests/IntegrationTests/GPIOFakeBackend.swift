#if canImport(Glibc)
import Glibc
#endif
import OmniCore
@testable import OmniLinux
import Synchronization

/// A fake of the GPIO shim: lines that live in memory, with a real pipe as the event fd so the
/// button thread polls it exactly like a kernel line request.
final class FakeGPIOBackend: GPIOBackend {
    private let lines = Mutex<[String: FakeGPIOLine]>([:])
    /// Opens of these line names fail with this error code at this stage.
    let failures = Mutex<[String: (GPIOError.Stage, Int32)]>([:])
    /// The level an input reads when opened (logical).
    let initialLevel = Mutex<[String: Bool]>([:])

    func openInput(_ spec: GPIOLineSpec) throws(GPIOError) -> any GPIORequestedLine {
        try open(spec, input: true, initial: false)
    }

    func openOutput(_ spec: GPIOLineSpec, initial: Bool) throws(GPIOError) -> any GPIORequestedLine {
        try open(spec, input: false, initial: initial)
    }

    private func open(_ spec: GPIOLineSpec, input: Bool, initial: Bool) throws(GPIOError) -> FakeGPIOLine {
        let key = spec.line.name ?? "\(spec.line.chip ?? "?"):\(spec.line.offset ?? -1)"
        if let (stage, code) = failures.withLock({ $0[key] }) {
            throw GPIOError(stage: stage, code: code, chip: "gpiochip0", line: spec.line, bias: spec.bias)
        }
        let level = input ? (initialLevel.withLock { $0[key] } ?? false) : initial
        let line = FakeGPIOLine(name: key, spec: spec, input: input, level: level)
        lines.withLock { $0[key] = line }
        return line
    }

    func line(_ name: String) -> FakeGPIOLine? { lines.withLock { $0[name] } }
}

final class FakeGPIOLine: GPIORequestedLine, @unchecked Sendable {
    // @unchecked: every mutable field is behind `state`; the fds are fixed at init.
    struct State {
        var queue: [GPIOEdge] = []
        var level: Bool
        var writes: [(Duration, Bool)] = []
        var closed = false
        var readError: Int32?
        /// How often the level was read (`value()`): a thread that re-requests a lost line reads
        /// it once to start its gesture detector.
        var valueReads = 0
    }

    let name: String
    let spec: GPIOLineSpec
    let input: Bool
    private let readFD: Int32
    private let writeFD: Int32
    let state: Mutex<State>

    init(name: String, spec: GPIOLineSpec, input: Bool, level: Bool) {
        self.name = name
        self.spec = spec
        self.input = input
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        readFD = fds[0]
        writeFD = fds[1]
        state = Mutex(State(level: level))
    }

    deinit {
        Glibc.close(readFD)
        Glibc.close(writeFD)
    }

    /// Queues edges (as the kernel would) and makes the fd readable.
    func inject(_ edges: [GPIOEdge]) {
        state.withLock { s in
            s.queue += edges
            if let last = edges.last { s.level = last.rising }
        }
        var one: UInt8 = 1
        _ = write(writeFD, &one, 1)
    }

    /// Edges at `base + offset ms` (rising = pressed).
    func inject(at base: Duration, _ timeline: [(Int, Bool)]) {
        inject(timeline.map { GPIOEdge(timestamp: base + .milliseconds($0.0), rising: $0.1) })
    }

    var writes: [(Duration, Bool)] { state.withLock { $0.writes } }
    var level: Bool { state.withLock { $0.level } }
    var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: GPIORequestedLine

    var fileDescriptor: Int32 { input ? readFD : -1 }
    var chipName: String { "gpiochip0" }
    var offset: Int { spec.line.offset ?? 17 }

    func readEdges(max: Int) throws(GPIOError) -> [GPIOEdge] {
        var drain = [UInt8](repeating: 0, count: 64)
        while drain.withUnsafeMutableBytes({ read(readFD, $0.baseAddress, $0.count) }) > 0 {}
        let result: Result<[GPIOEdge], GPIOError> = state.withLock { s in
            if let e = s.readError { return .failure(GPIOError(stage: .io, code: e, line: spec.line)) }
            let n = min(max, s.queue.count)
            let out = Array(s.queue.prefix(n))
            s.queue.removeFirst(n)
            return .success(out)
        }
        // More than `max` queued: keep the fd readable.
        if state.withLock({ !$0.queue.isEmpty }) {
            var one: UInt8 = 1
            _ = write(writeFD, &one, 1)
        }
        return try result.get()
    }

    func value() throws(GPIOError) -> Bool {
        state.withLock { s in
            s.valueReads += 1
            return s.level
        }
    }

    func setValue(_ on: Bool) throws(GPIOError) {
        let now = SystemMonotonicClock().now()
        state.withLock { s in
            s.level = on
            s.writes.append((now, on))
        }
    }

    func close() { state.withLock { $0.closed = true } }
}

/// Collects events from another thread and waits for them.
final class GPIOEventCollector<Event: Sendable>: Sendable {
    private let events = Mutex<[Event]>([])

    func add(_ e: Event) { events.withLock { $0.append(e) } }

    var all: [Event] { events.withLock { $0 } }

    /// Waits until at least `count` events arrived; returns them all. The timeout is a hang guard:
    /// to show that nothing *else* happened, make something known happen after it and compare
    /// the whole sequence (events arrive in order).
    @discardableResult
    func wait(count: Int, timeout: Double = TestGuard.seconds) -> [Event] {
        wait(timeout: timeout) { $0.count >= count }
    }

    /// Waits until `condition` holds for the events so far; returns them all.
    @discardableResult
    func wait(timeout: Double = TestGuard.seconds, until condition: ([Event]) -> Bool) -> [Event] {
        eventually(timeout: timeout) { condition(all) }
        return all
    }
}

/// The clock of a button or LED thread under test: it moves only when the test sets it, and it
/// counts how often the thread has read it, which tells the test when the thread has got past
/// a point (see `reads`).
final class SteppedClock: MonotonicClock {
    private struct State {
        var now: Duration
        var reads = 0
    }

    private let state: Mutex<State>

    init(_ start: Duration) { state = Mutex(State(now: start)) }

    func now() -> Duration { state.withLock { $0.reads += 1; return $0.now } }

    /// Moves the clock to `time` (never backwards).
    func set(to time: Duration) { state.withLock { $0.now = max($0.now, time) } }

    /// How many times the clock has been read so far.
    var reads: Int { state.withLock { $0.reads } }

    /// Waits until the clock has been read `count` more times than `since` (a hang guard aside).
    @discardableResult
    func waitForReads(_ count: Int, since: Int) -> Bool {
        eventually { reads >= since + count }
    }
}

func gpioTestLineRef(_ name: String, key: String = "button.line") -> GPIOLineRef {
    GPIOLineRef(chip: nil, name: name, offset: nil, location: ConfigLocation(file: "/boards/test.toml", line: 3, key: key))
}
