import Dispatch
import Logging
import OmniCore
import Synchronization

// LED output: the pattern for the appliance state (LEDScheme, a pure function of state and
// time) driven by a timer on the driver's own queue — never the audio thread, never the GPIO
// thread. The timer is armed for the next change of level only, so a solid LED costs nothing.

/// Where LED levels go.
public protocol LEDSink: Sendable {
    /// Drive the lines (one level per line, red/green/blue order).
    func show(_ levels: [Bool])
    /// All lines dark and released (shutdown).
    func close()
    /// Whether levels change anything anyone can see. A sink that only records states needs
    /// no blink timer: a heartbeat would otherwise wake the process several times a second
    /// for nothing.
    var showsBlinking: Bool { get }
}

extension LEDSink {
    public var showsBlinking: Bool { true }
}

/// No hardware: the driver logs each state (`LED state: listening`); the first level of each
/// state is traced, blinking is not driven.
public struct VirtualLEDSink: LEDSink {
    public var showsBlinking: Bool { false }
    private let logger: Logger

    public init(logger: Logger = Logger(label: "omnid.leds")) {
        self.logger = logger
    }

    public func show(_ levels: [Bool]) {
        logger.trace("LED levels: \(levels.map { $0 ? "1" : "0" }.joined())")
    }

    public func close() {}
}

/// LEDs on GPIO output lines.
public final class GPIOLEDSink: LEDSink {
    public let lines: [GPIOOutputLine]
    private let logger: Logger
    private let failed = Atomic<Bool>(false)
    /// While the lines are lost: when they were last requested again (at most once a second).
    private let lastReopen = Mutex<ContinuousClock.Instant?>(nil)

    public init(lines: [GPIOOutputLine], logger: Logger = Logger(label: "omnid.leds")) {
        self.lines = lines
        self.logger = logger
    }

    /// Opens the board's LED lines (all dark).
    public convenience init(config: LEDBoardConfig, backend: any GPIOBackend,
                            logger: Logger = Logger(label: "omnid.leds")) throws(GPIOError) {
        var opened: [GPIOOutputLine] = []
        for spec in GPIOLineSpec.leds(config) {
            do {
                opened.append(try GPIOOutputLine(backend: backend, spec: spec, initial: false))
            } catch {
                for l in opened { l.close() }
                throw error
            }
        }
        self.init(lines: opened, logger: logger)
        logger.info("LEDs on \(opened.map(\.resolved).joined(separator: ", "))")
    }

    public func show(_ levels: [Bool]) {
        if failed.load(ordering: .relaxed) {
            reopen(levels)
            return
        }
        for (line, on) in zip(lines, levels) {
            do {
                try line.set(on)
            } catch {
                if !failed.exchange(true, ordering: .relaxed) {
                    logger.error("LED output failed: \(error.message); requesting the lines again every second")
                }
                reopen(levels)
                return
            }
        }
    }

    /// Requests every line again (their chip went away); once a second at most.
    private func reopen(_ levels: [Bool]) {
        let now = ContinuousClock.now
        let due = lastReopen.withLock { last -> Bool in
            if let l = last, now - l < .seconds(1) { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            for (i, line) in lines.enumerated() {
                try line.reopen(level: i < levels.count ? levels[i] : false)
            }
        } catch {
            return
        }
        failed.store(false, ordering: .relaxed)
        lastReopen.withLock { $0 = nil }
        logger.notice("LED lines back on \(lines.map(\.resolved).joined(separator: ", "))")
    }

    public func close() {
        show(Array(repeating: false, count: lines.count))
        for l in lines { l.close() }
    }
}

public final class LEDDriver: @unchecked Sendable {
    // @unchecked: `current`, `startedAt`, `timer` and `closed` are touched on `queue` only.
    public let scheme: LEDScheme
    public let lineCount: Int
    private let sink: any LEDSink
    private let clock: any MonotonicClock
    private let logger: Logger
    private let queue = DispatchQueue(label: "omnid.leds")
    private var current: ApplianceState?
    private var startedAt: Duration = .zero
    private var timer: DispatchSourceTimer?
    private var closed = false
    private let shown = Mutex<ApplianceState?>(nil)

    public init(scheme: LEDScheme, lineCount: Int, sink: any LEDSink, clock: any MonotonicClock = SystemMonotonicClock(),
                logger: Logger = Logger(label: "omnid.leds")) {
        self.scheme = scheme
        self.lineCount = lineCount
        self.sink = sink
        self.clock = clock
        self.logger = logger
    }

    /// The driver for the board's [leds] section: GPIO lines, or the virtual (log-only) LEDs.
    public static func make(config: LEDBoardConfig, backend: any GPIOBackend,
                            logger: Logger = Logger(label: "omnid.leds")) throws(GPIOError) -> LEDDriver {
        switch config.backend {
        case .gpio:
            let sink = try GPIOLEDSink(config: config, backend: backend, logger: logger)
            return LEDDriver(scheme: config.scheme, lineCount: sink.lines.count, sink: sink, logger: logger)
        case .virtual, .none:
            return LEDDriver(scheme: config.scheme, lineCount: 1, sink: VirtualLEDSink(logger: logger), logger: logger)
        }
    }

    /// The state last asked for (any thread).
    public var state: ApplianceState? { shown.withLock { $0 } }

    /// Shows `state` (from any thread). Asking again for the state already shown keeps its
    /// rhythm going rather than restarting it.
    public func show(_ state: ApplianceState) {
        shown.withLock { $0 = state }
        queue.async { [self] in
            guard !closed, state != current else { return }
            current = state
            startedAt = clock.now()
            logger.info("LED state: \(state.rawValue)", metadata: ["look": "\(scheme.look(for: state))"])
            tick()
        }
    }

    /// All dark, lines released; later `show` calls do nothing. Waits until done.
    public func close() {
        queue.sync {
            closed = true
            timer?.cancel()
            timer = nil
            current = nil
            sink.close()
        }
    }

    private func tick() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let state = current, !closed else { return }
        let elapsed = clock.now() - startedAt
        sink.show(scheme.levels(for: state, after: elapsed, lines: lineCount))
        guard sink.showsBlinking, let next = scheme.nextChange(for: state, after: elapsed) else {
            timer?.cancel()
            timer = nil
            return
        }
        let delay = max(.zero, next - elapsed)
        let t = timer ?? {
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.setEventHandler { [weak self] in self?.tick() }
            t.resume()
            return t
        }()
        timer = t
        t.schedule(deadline: .now() + .nanoseconds(Int(delay.wholeNanoseconds)),
                   leeway: .milliseconds(2))
    }
}
