#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CSystemShim
import CWebSocketShim
import Synchronization

// The one thread that owns a libwebsockets context. Everything lws is done on it; the only lws
// call other threads make is lws_cancel_service() (documented as callable from any thread) to
// wake it after they queued work. Foundation's Thread is not available, hence plain pthreads.

final class LWSServiceThread: Sendable {
    let name: String
    /// The live context's address, published only for wake(). Kept as a bit pattern because raw
    /// pointers are not Sendable; the lock makes sure the context is not destroyed mid-wake.
    private let published = Mutex<UInt>(0)
    private let thread = Mutex<pthread_t?>(nil)

    init(name: String) {
        self.name = name
    }

    /// Starts the thread running `body`. False if the thread could not be created.
    func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(ThreadBody(name: name, body: body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            omni_name_current_thread(body.name)
            body.body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            return false
        }
        thread.withLock { $0 = tid }
        return true
    }

    /// Called on the service thread when its context exists (or, with nil, before destroying it).
    func publish(_ context: OpaquePointer?) {
        published.withLock { $0 = context.map { UInt(bitPattern: Int(bitPattern: $0)) } ?? 0 }
    }

    /// Makes lws_service() return soon. Harmless when there is no context yet: the loop drains
    /// its queues once before its first lws_service().
    func wake() {
        published.withLock { bits in
            if let context = OpaquePointer(bitPattern: bits) { lws_cancel_service(context) }
        }
    }

    var isCurrent: Bool {
        thread.withLock { tid in tid.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Waits for the thread to end. From the service thread itself (an event handler asking for
    /// shutdown) it detaches instead, since a thread cannot join itself.
    func join() {
        guard let tid = thread.withLock({ tid -> pthread_t? in defer { tid = nil }; return tid }) else { return }
        if pthread_equal(tid, pthread_self()) != 0 {
            pthread_detach(tid)
        } else {
            pthread_join(tid, nil)
        }
    }
}

private final class ThreadBody {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
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
