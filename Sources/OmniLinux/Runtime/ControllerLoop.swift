import OmniCore
import OmniSystem

// The controller thread of the architecture page: one loop (OmniSystem's EventLoop, thread
// "omnid-loop") that owns the appliance state, the session manager and the timers. Everything
// that touches them runs here, so they need no locks; other threads (GPIO, control socket,
// audio monitor, signals) only post work to it. The session's websocket client runs on this
// same thread (SessionHost hosts it here): a message from the service and the work it causes
// cost one wake-up, not a hop from the network thread to the controller and back.

public final class ControllerLoop: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let events: EventLoop
    public let clock: SystemMonotonicClock

    /// Starts the loop's thread; a process that cannot start it cannot run at all.
    public init(label: String = "omnid-loop") {
        do {
            events = try EventLoop(name: label)
        } catch {
            fatalError("controller loop: \(error)")
        }
        clock = SystemMonotonicClock()
    }

    public func post(_ work: @escaping @Sendable () -> Void) {
        events.post(work)
    }

    /// True on the loop's thread.
    public var isCurrent: Bool { events.isCurrent }

    /// Traps unless called on the loop's thread (what must only run there).
    public func preconditionIsCurrent(_ what: @autoclosure () -> String = "", file: StaticString = #fileID, line: UInt = #line) {
        precondition(events.isCurrent, "not on the controller loop \(what())", file: file, line: line)
    }

    /// Runs `work` on the loop after `delay`. On the loop.
    @discardableResult
    public func after(_ delay: Duration, _ work: @escaping () -> Void) -> EventLoop.Timer {
        events.schedule(at: EventLoop.now() + Int(max(.zero, delay).wholeNanoseconds), work)
    }

    /// Cancels a timer set with `after` (one that fired already: nothing). On the loop.
    public func cancel(_ timer: EventLoop.Timer) {
        events.cancel(timer)
    }

    /// Runs `work` every `interval` on the loop, the first time now. On the loop.
    public func every(_ interval: Duration, _ work: @escaping () -> Void) {
        work()
        after(interval) { [weak self] in self?.every(interval, work) }
    }

    /// A timer on this loop for one deadline at a time (see `LoopDeadline`).
    public func deadline(_ fire: @escaping @Sendable () -> Void) -> LoopDeadline {
        LoopDeadline(loop: self, fire: fire)
    }

    /// Ends the loop's thread once the work posted so far has run (tests; the daemon exits).
    public func stop() {
        events.stop()
    }
}

/// One timer on the loop that calls `fire` at the deadline last set. Setting the same deadline
/// again does nothing: the session manager's deadline is re-read after every call into it (each
/// audio chunk, each server event) while it changes only when a ping is due or the link state
/// moves.
public final class LoopDeadline: @unchecked Sendable {
    // @unchecked: `armed` and `timer` are touched on the loop's thread only.
    private let loop: ControllerLoop
    private let fire: @Sendable () -> Void
    /// The deadline the timer is set for (monotonic, as `loop.clock.now()`); nil: none.
    private var armed: Duration?
    private var timer: EventLoop.Timer?

    fileprivate init(loop: ControllerLoop, fire: @escaping @Sendable () -> Void) {
        self.loop = loop
        self.fire = fire
    }

    /// Arranges one call of `fire` at `deadline` (nil: none), replacing the previous one. On
    /// the loop.
    public func set(_ deadline: Duration?) {
        loop.preconditionIsCurrent("(LoopDeadline.set)")
        guard deadline != armed else { return }
        armed = deadline
        if let timer { loop.cancel(timer) }
        timer = nil
        guard let deadline else { return }
        timer = loop.after(deadline - loop.clock.now()) { [weak self] in
            guard let self else { return }
            // The one-shot fired: it is no longer armed, whatever `fire` sets next.
            self.armed = nil
            self.timer = nil
            self.fire()
        }
    }
}
