import OmniCore
import Synchronization

// Where the controller's answers to `status` requests wait for the control thread. The control
// thread never waits for the controller: it hands a request over (the daemon posts it to its
// queue) and goes back to poll(); the answer, whenever it comes and from whichever thread, is
// put here and the thread's poll is woken to write it. Once the server stops, the box is closed
// and late answers are dropped, so shutdown never depends on the controller answering.

final class ControlStatusReplies: Sendable {
    struct Reply: Sendable {
        var request: UInt64
        var status: ApplianceStatus?
    }

    private struct State {
        var open = true
        var ready: [Reply] = []
    }

    private let state = Mutex(State())
    private let wake: @Sendable () -> Void

    /// - Parameter wake: makes the control thread's poll() return (its wake pipe).
    init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    /// An answer from the controller, from any thread; dropped once the server stopped.
    func deliver(_ request: UInt64, _ status: ApplianceStatus?) {
        let accepted = state.withLock { s in
            guard s.open else { return false }
            s.ready.append(Reply(request: request, status: status))
            return true
        }
        if accepted { wake() }
    }

    /// The answers that came in since the last call (on the control thread).
    func take() -> [Reply] {
        state.withLock { s in
            defer { s.ready.removeAll() }
            return s.ready
        }
    }

    /// Drops what is waiting and every later answer.
    func close() {
        state.withLock { s in
            s.open = false
            s.ready.removeAll()
        }
    }
}
