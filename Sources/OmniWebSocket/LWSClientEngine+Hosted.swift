#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CWebSocketShim
import OmniSystem

// The client engine hosted on an EventLoop (LWSClientTransport's `host`): instead of a service
// thread of its own, it takes over the loop's sleep. Before each sleep the loop runs the
// engine's `pass` (queued commands, the link's housekeeping); the sleep is lws_service, whose
// poll covers the link's socket and lws' cancel pipe (the loop's `post` from other threads
// wakes it through lws_cancel_service); the loop's next timer is an lws timer (lws_sul) that
// ends that poll when it is due. So a received message, the work it causes and the messages
// that work sends all happen on one thread, in one wake-up.
//
// Transport events are still delivered from inside lws callbacks; the host (SessionHost) posts
// them to the loop, which only queues them there: they run after lws_service returns, never
// inside an lws callback. A send from the loop's thread needs no wake-up either: the next
// `pass` asks lws for POLLOUT, and the poll that follows returns at once.

extension LWSClientEngine {
    /// Runs the engine on `loop` from now on. On the loop's thread.
    func attach(to loop: EventLoop) {
        guard begin() else {
            self.service.detached.fulfil(true)
            return
        }
        let timer = UnsafeMutablePointer<lws_sorted_usec_list_t>.allocate(capacity: 1)
        timer.initialize(to: lws_sorted_usec_list_t())
        loopTimer = timer
        let service = self.service
        loop.attach(EventLoop.Sleeper(
            prepare: { [self] in
                if pass() { return true }
                leave()
                return false
            },
            sleep: { [self] deadline in sleepInService(until: deadline) },
            wake: { service.wake() },
            finish: { [self] in
                _ = core.stop()
                leave()
            }))
    }

    /// lws_service, ended by an lws timer at `deadline` (monotonic ns). The timer is set in whole
    /// milliseconds from now, rounded up: lws polls in milliseconds, rounding down, so a timer
    /// less than a millisecond away would make it poll with no timeout until the deadline.
    private func sleepInService(until deadline: Int?) {
        guard let context, let timer = loopTimer else { return }
        if let deadline {
            let ms = (deadline - EventLoop.now() + 999_999) / 1_000_000
            lws_sul_schedule(context, 0, timer, { _ in }, lws_usec_t(max(1, ms)) * 1000)
        } else {
            lws_sul_cancel(timer)
        }
        lws_service(context, 0)
    }

    /// The context is about to be destroyed (TLS enabled, or the end): its timers go with it.
    func contextWillEnd() {
        if let timer = loopTimer { lws_sul_cancel(timer) }
    }

    /// Shut down: closes the link, destroys the context, lets `join` return.
    private func leave() {
        end()
        if let timer = loopTimer {
            timer.deallocate()
            loopTimer = nil
        }
        service.detached.fulfil(true)
    }
}
