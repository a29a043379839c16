import OmniCore
import OmniSystem

// Carries out the appliance machine's `.startTimer` / `.cancelTimer` actions with one-shot
// timers on the controller loop, and hands back `.timer(t)` when one fires. A firing that
// races a cancel is harmless: the machine ignores timers it no longer has armed.

public final class ApplianceTimerDriver: @unchecked Sendable {
    // @unchecked: `timers` is touched on the loop only (start/cancel must be called there).
    private let loop: ControllerLoop
    private let fire: @Sendable (ApplianceTimer) -> Void
    private var timers: [ApplianceTimer.Kind: (generation: UInt64, timer: EventLoop.Timer)] = [:]

    /// - Parameter fire: called on the loop; feed `.timer(t)` to the machine.
    public init(loop: ControllerLoop, fire: @escaping @Sendable (ApplianceTimer) -> Void) {
        self.loop = loop
        self.fire = fire
    }

    /// Handles the timer actions in `actions` (others are ignored). Call on the loop.
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
        loop.preconditionIsCurrent("(ApplianceTimerDriver)")
        if let old = timers[t.kind] { loop.cancel(old.timer) }
        let fire = self.fire
        let timer = loop.after(delay) { [weak self] in
            if let self, timers[t.kind]?.generation == t.generation { timers[t.kind] = nil }
            fire(t)
        }
        timers[t.kind] = (t.generation, timer)
    }

    public func cancel(_ kind: ApplianceTimer.Kind) {
        loop.preconditionIsCurrent("(ApplianceTimerDriver)")
        if let old = timers.removeValue(forKey: kind) { loop.cancel(old.timer) }
    }

    public func cancelAll() {
        loop.preconditionIsCurrent("(ApplianceTimerDriver)")
        for t in timers.values { loop.cancel(t.timer) }
        timers.removeAll()
    }
}
