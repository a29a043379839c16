import Dispatch
import OmniCore

// The controller thread of the architecture page: one serial queue that owns the appliance
// state, the session manager and the timers. Everything that touches them runs here, so they
// need no locks; other threads (network, GPIO, audio monitor, signals) only post work to it.

public final class ControllerLoop: @unchecked Sendable {
    // @unchecked: the only mutable state is `timer`, touched on `queue` alone.
    public let queue: DispatchQueue
    public let clock: SystemMonotonicClock
    private var timer: DispatchSourceTimer?

    public init(label: String = "omnid.controller") {
        queue = DispatchQueue(label: label)
        clock = SystemMonotonicClock()
    }

    public func post(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    /// Arranges one call of `fire` at `deadline` (monotonic, as `clock.now()`), replacing any
    /// earlier arrangement. Must be called on the queue.
    public func wake(at deadline: Duration?, _ fire: @escaping @Sendable () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        timer?.cancel()
        timer = nil
        guard let deadline else { return }
        let delay = max(.zero, deadline - clock.now())
        let t = DispatchSource.makeTimerSource(queue: queue)
        let nanos = Int(delay.wholeNanoseconds)
        // 1 ms leeway: the deadlines are keepalive and backoff timers, not audio.
        t.schedule(deadline: .now() + .nanoseconds(nanos), leeway: .milliseconds(1))
        t.setEventHandler(handler: fire)
        t.resume()
        timer = t
    }
}
