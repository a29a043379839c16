import Dispatch
import OmniCore

// Carries out the appliance machine's `.startTimer` / `.cancelTimer` actions with one-shot
// dispatch timers on the controller's queue, and hands back `.timer(t)` when one fires. A
// firing that races a cancel is harmless: the machine ignores timers it no longer has armed.

public final class ApplianceTimerDriver: @unchecked Sendable {
    // @unchecked: `timers` is touched on `queue` only (start/cancel must be called there).
    private let queue: DispatchQueue
    private let fire: @Sendable (ApplianceTimer) -> Void
    private var timers: [ApplianceTimer.Kind: (generation: UInt64, source: DispatchSourceTimer)] = [:]

    /// - Parameter fire: called on `queue`; feed `.timer(t)` to the machine.
    public init(queue: DispatchQueue, fire: @escaping @Sendable (ApplianceTimer) -> Void) {
        self.queue = queue
        self.fire = fire
    }

    /// Handles the timer actions in `actions` (others are ignored). Call on `queue`.
    public func apply(_ actions: [ApplianceAction]) {
        for a in actions {
            switch a {
            case .startTimer(let t, let after): start(t, after: after)
            case .cancelTimer(let kind): cancel(kind)
            default: break
            }
        }
    }

    public func start(_ t: ApplianceTimer, after delay: Duration) {
        dispatchPrecondition(condition: .onQueue(queue))
        timers[t.kind]?.source.cancel()
        let source = DispatchSource.makeTimerSource(queue: queue)
        source.schedule(deadline: .now() + .nanoseconds(Int(max(.zero, delay).wholeNanoseconds)),
                        leeway: .milliseconds(5))
        let fire = self.fire
        source.setEventHandler { [weak self] in
            if let self, timers[t.kind]?.generation == t.generation { timers[t.kind] = nil }
            fire(t)
        }
        source.resume()
        timers[t.kind] = (t.generation, source)
    }

    public func cancel(_ kind: ApplianceTimer.Kind) {
        dispatchPrecondition(condition: .onQueue(queue))
        timers.removeValue(forKey: kind)?.source.cancel()
    }

    public func cancelAll() {
        dispatchPrecondition(condition: .onQueue(queue))
        for t in timers.values { t.source.cancel() }
        timers.removeAll()
    }
}
