#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CWebSocketShim
import OmniSystem

// The client engine hosted on an EventLoop (LWSClientTransport's `host`): instead of a service
// thread of its own, it takes over the loop's sleep. Before each sleep the loop runs the
// engine's `pass` (queued commands, the link's housekeeping); the sleep is lws_service, whose
// poll covers the link's socket, lws' cancel pipe (the loop's `post` from other threads wakes it
// through lws_cancel_service) and the descriptors the loop watches (adopted as lws raw files: a
// readable one is handed back to the loop, which runs its handler after lws_service returns);
// the loop's next timer is an lws timer (lws_sul) that ends that poll when it is due. So a
// received message, the work it causes and the messages that work sends all happen on one
// thread, in one wake-up.
//
// Transport events are still delivered from inside lws callbacks; the host (SessionHost) posts
// them to the loop, which only queues them there: they run after lws_service returns, never
// inside an lws callback. A send from the loop's thread needs no wake-up either: the next
// `pass` asks lws for POLLOUT, and the poll that follows returns at once.

/// What a hosted engine keeps (LWSClientEngine.hosted).
struct LWSHostedState {
    let loop: EventLoop
    /// The lws timer that ends lws_service at the loop's next deadline.
    let timer: UnsafeMutablePointer<lws_sorted_usec_list_t>
    /// The vhost the watched descriptors are adopted into (one per context).
    var vhost: OpaquePointer?
    /// The loop's watched descriptors (watch id → fd), and the raw-file wsi of each adopted.
    var watches: [Int32: Int] = [:]
    var adopted: [Int: OpaquePointer] = [:]
}

extension LWSClientEngine {
    /// Tags of watched-descriptor wsis (opaque user data); link tags are small generations.
    private static let watchTag: UInt64 = 1 << 62

    /// Runs the engine on `loop` from now on. On the loop's thread.
    func attach(to loop: EventLoop) {
        let timer = UnsafeMutablePointer<lws_sorted_usec_list_t>.allocate(capacity: 1)
        timer.initialize(to: lws_sorted_usec_list_t())
        hosted = LWSHostedState(loop: loop, timer: timer)
        guard begin() else {
            leave()
            return
        }
        contextDidStart()
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
            },
            watches: { [self] fds in
                hosted?.watches = Dictionary(fds.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
                adoptWatches()
            }))
    }

    /// lws_service, ended by an lws timer at `deadline` (monotonic ns). The timer is set in whole
    /// milliseconds from now, rounded up: lws polls in milliseconds, rounding down, so a timer
    /// less than a millisecond away would make it poll with no timeout until the deadline.
    private func sleepInService(until deadline: Int?) {
        guard let context, let timer = hosted?.timer else { return }
        if let deadline {
            let ms = (deadline - EventLoop.now() + 999_999) / 1_000_000
            lws_sul_schedule(context, 0, timer, { _ in }, lws_usec_t(max(1, ms)) * 1000)
        } else {
            lws_sul_cancel(timer)
        }
        lws_service(context, 0)
    }

    /// A context was created (the first, or the one with TLS): the watched descriptors go into
    /// it. No-op on a thread of its own.
    func contextDidStart() {
        guard hosted != nil, let context, let protocols else { return }
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.vhost_name = strings.keep("loop")
        hosted?.vhost = LWSLibrary.createVhost(context, &info)
        hosted?.adopted = [:]
        adoptWatches()
    }

    /// The context is about to be destroyed (TLS enabled, or the end): its timer, and the raw
    /// files adopted into it (lws closes them, and the duplicates of the fds with them), go too.
    func contextWillEnd() {
        guard let timer = hosted?.timer else { return }
        lws_sul_cancel(timer)
        hosted?.adopted = [:]
        hosted?.vhost = nil
    }

    /// Makes the adopted raw files match the loop's watches: a duplicate of each fd (lws closes
    /// what it adopted), tagged with its watch id.
    private func adoptWatches() {
        guard var h = hosted else { return }
        let wanted = Set(h.watches.values)
        for (id, wsi) in h.adopted where !wanted.contains(id) {
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC)
            h.adopted[id] = nil
        }
        if let vhost = h.vhost {
            for (fd, id) in h.watches where h.adopted[id] == nil {
                var u = lws_sock_file_fd_type()
                u.filefd = dup(fd)
                guard u.filefd >= 0,
                      let wsi = lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, u, "omni-realtime-client", nil)
                else {
                    logger.error("websocket: cannot watch descriptor \(fd) for the loop")
                    continue
                }
                LWSLibrary.setTag(Self.watchTag | UInt64(id), on: wsi)
                h.adopted[id] = wsi
            }
        }
        hosted = h
    }

    /// RAW_RX_FILE: the loop runs that watch's handler before it sleeps again.
    func watchedReadable(_ wsi: OpaquePointer) {
        let tag = LWSLibrary.tag(of: wsi)
        guard tag & Self.watchTag != 0, let loop = hosted?.loop else { return }
        loop.readable(Int(tag & ~Self.watchTag))
    }

    /// Shut down: closes the link, destroys the context, lets `join` return.
    private func leave() {
        if context != nil { end() }
        if let timer = hosted?.timer { timer.deallocate() }
        hosted = nil
        service.detached.fulfil(true)
    }
}
