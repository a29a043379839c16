#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CWebSocketShim
import OmniSystem
import Synchronization

// The one thread that owns a libwebsockets context. Everything lws is done on it; the only lws
// call other threads make is lws_cancel_service() (documented as callable from any thread) to
// wake it after they queued work. The thread is OmniSystem's PThread, or the thread of an
// EventLoop the client is hosted on (LWSClientEngine+Hosted.swift).

final class LWSServiceThread: Sendable {
    let name: String
    /// The loop whose thread runs the engine; nil: a thread of its own.
    let host: EventLoop?
    /// The live context's address, published only for wake(). Kept as a bit pattern because raw
    /// pointers are not Sendable; the lock makes sure the context is not destroyed mid-wake.
    private let published = Mutex<UInt>(0)
    private let thread = Mutex<PThread?>(nil)
    /// Hosted: fulfilled once the engine has left the loop (its context destroyed).
    let detached = LWSOneShot<Bool>()

    init(name: String, host: EventLoop? = nil) {
        self.name = name
        self.host = host
    }

    /// Starts the thread running `body`. False if the thread could not be created.
    func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        // 512 KiB, not the 8 MiB default: lws's service loop and an OpenSSL handshake use a few
        // tens of KiB; the reservation is what a stack overflow would have to cross.
        guard let t = try? PThread.start(PThread.Options(name: name, stackBytes: 512 * 1024), body) else { return false }
        thread.withLock { $0 = t }
        return true
    }

    /// Called on the service thread when its context exists (or, with nil, before destroying it).
    func publish(_ context: OpaquePointer?) {
        published.withLock { $0 = context.map { UInt(bitPattern: Int(bitPattern: $0)) } ?? 0 }
    }

    /// Makes lws_service() return soon. Harmless when there is no context yet: the loop drains
    /// its queues once before its first lws_service().
    /// On the hosting loop's own thread it does nothing: the loop runs the engine's pass before
    /// it sleeps again.
    func wake() {
        if let host, host.isCurrent { return }
        published.withLock { bits in
            if let context = OpaquePointer(bitPattern: bits) { lws_cancel_service(context) }
        }
    }

    var isCurrent: Bool {
        if let host { return host.isCurrent }
        return thread.withLock { $0?.isCurrent ?? false }
    }

    /// Waits for the thread to end (hosted: for the engine to leave the loop). From the service
    /// thread itself (an event handler asking for shutdown) it returns at once instead: the
    /// thread detaches, the hosted engine leaves at the loop's next pass.
    func join() {
        if let host {
            if !host.isCurrent { _ = detached.wait() }
            return
        }
        thread.withLock { t -> PThread? in defer { t = nil }; return t }?.join()
    }
}

/// A one-shot wait for a result produced on another thread (a server's bound port).
/// sem_t needs a stable address, hence the allocation; it is the thread-safe part.
final class LWSOneShot<Value: Sendable>: @unchecked Sendable {
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let value = Mutex<Value?>(nil)

    init() {
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    func fulfil(_ result: Value) {
        value.withLock { $0 = result }
        sem_post(semaphore)
    }

    func wait() -> Value {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
        return value.withLock { $0! }
    }
}
