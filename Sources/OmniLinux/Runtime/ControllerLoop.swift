import Dispatch
import OmniCore

// The controller thread of the architecture page: one serial queue that owns the appliance
// state, the session manager and the timers. Everything that touches them runs here, so they
// need no locks; other threads (network, GPIO, audio monitor, signals) only post work to it.

public final class ControllerLoop: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let queue: DispatchQueue
    public let clock: SystemMonotonicClock

    public init(label: String = "omnid.controller") {
        queue = DispatchQueue(label: label)
        clock = SystemMonotonicClock()
    }

    public func post(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    /// A timer on this loop for one deadline at a time (see `LoopDeadline`).
    public func deadline(_ fire: @escaping @Sendable () -> Void) -> LoopDeadline {
        LoopDeadline(loop: self, fire: fire)
    }
}

/// One dispatch timer, made once, that calls `fire` on the loop at the deadline last set.
/// Setting the same deadline again does nothing: rescheduling a dispatch timer is a round trip
/// through libdispatch's timer thread, and the session manager's deadline is re-read after
/// every call into it (each audio chunk, each server event) while it changes only when a ping
/// is due or the link state moves. A fresh timer per call was most of the controller's
/// wake-ups; now the timer is touched only when the deadline actually changes.
public final class LoopDeadline: @unchecked Sendable {
    // @unchecked: `armed` is touched on the loop's queue only.
    private let loop: ControllerLoop
    private let timer: DispatchSourceTimer
    /// The deadline the timer is set for (monotonic, as `loop.clock.now()`); nil: none.
    private var armed: Duration?

    fileprivate init(loop: ControllerLoop, fire: @escaping @Sendable () -> Void) {
        self.loop = loop
        timer = DispatchSource.makeTimerSource(queue: loop.queue)
        timer.schedule(deadline: .distantFuture)
        let box = WeakDeadlineBox()
        timer.setEventHandler {
            // The one-shot fired: it is no longer armed, whatever `fire` sets next.
            box.value?.armed = nil
            fire()
        }
        timer.resume()
        box.value = self
    }

    deinit {
        timer.cancel()
    }

    /// Arranges one call of `fire` at `deadline` (nil: none), replacing the previous one. On
    /// the loop's queue.
    public func set(_ deadline: Duration?) {
        dispatchPrecondition(condition: .onQueue(loop.queue))
        guard deadline != armed else { return }
        armed = deadline
        guard let deadline else {
            timer.schedule(deadline: .distantFuture)
            return
        }
        let delay = max(.zero, deadline - loop.clock.now())
        // 1 ms leeway: the deadlines are keepalive and backoff timers, not audio.
        timer.schedule(deadline: .now() + .nanoseconds(Int(delay.wholeNanoseconds)), leeway: .milliseconds(1))
    }
}

private final class WeakDeadlineBox: @unchecked Sendable {
    // @unchecked: written once, before the timer can fire.
    weak var value: LoopDeadline?
}
