#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import OmniCore
import OmniSystem

// The monitor's passes on an event loop's thread (`Options.eventLoop`) instead of a thread of
// their own: the loop watches the engine's eventfd, so what the audio thread reports wakes the
// loop directly, and each pass (AudioEngine+Monitor.swift) runs there; `onEvent` is then called
// on the loop. The reopen attempts while a device is missing are the loop's timers. Attaching
// and detaching happen on the loop; start() and stop() from other threads hand them over.

/// The loop-side monitor (touched on its loop's thread only).
final class LoopMonitor: @unchecked Sendable {
    // @unchecked: confined to `loop`'s thread after init.
    let loop: EventLoop
    var state: MonitorState
    var watch: EventLoop.Watch?
    var reopenTimer: (timer: EventLoop.Timer, at: Int)?

    init(loop: EventLoop, state: MonitorState) {
        self.loop = loop
        self.state = state
    }
}

extension AudioEngine {
    /// Starts watching the eventfd on `monitor.loop` (on that loop).
    func attachLoopMonitor(_ monitor: LoopMonitor) {
        monitor.watch = monitor.loop.watch(wakeFD) { [self] in
            var count: UInt64 = 0
            _ = read(wakeFD, &count, 8)
            loopMonitorPass(monitor)
        }
        loopMonitorPass(monitor)  // a startup loss, or anything from before
    }

    /// One monitor pass, then the reopen timer for the next attempt (if a device is missing).
    private func loopMonitorPass(_ monitor: LoopMonitor) {
        guard monitor.watch != nil else { return }
        let due = monitorPass(&monitor.state)
        if let old = monitor.reopenTimer, old.at != due {
            monitor.loop.cancel(old.timer)
            monitor.reopenTimer = nil
        }
        if let due, monitor.reopenTimer == nil {
            let timer = monitor.loop.schedule(at: due) { [weak self, monitor] in
                monitor.reopenTimer = nil
                self?.loopMonitorPass(monitor)
            }
            monitor.reopenTimer = (timer, due)
        }
    }

    /// Stops watching (on that loop); what was reported is kept for a later start().
    func detachLoopMonitor(_ monitor: LoopMonitor) {
        if let w = monitor.watch { monitor.loop.unwatch(w) }
        monitor.watch = nil
        if let t = monitor.reopenTimer { monitor.loop.cancel(t.timer) }
        monitor.reopenTimer = nil
        reported.withLock { [state = monitor.state] in $0 = state.seen }
    }

    /// Runs `body` on `loop` and waits for it (at once when already there): start() and stop()
    /// may be called from any thread.
    func onLoop(_ loop: EventLoop, _ body: @escaping @Sendable () -> Void) {
        if loop.isCurrent { return body() }
        let done = DispatchSemaphore(value: 0)
        loop.post {
            body()
            done.signal()
        }
        done.wait()
    }
}
