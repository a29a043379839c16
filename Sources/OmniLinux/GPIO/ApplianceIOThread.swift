#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import Synchronization

// A plain pthread plus a self-pipe to wake it out of poll(), for the GPIO button, the keyboard
// and the control socket (Foundation's Thread is not available).

final class ApplianceIOThread: Sendable {
    let name: String
    private let thread = Mutex<pthread_t?>(nil)
    /// [read end, write end] of the wake pipe; -1 when closed.
    private let pipeFDs: Mutex<(Int32, Int32)>

    /// The read end of the wake pipe, to include in the thread's poll set.
    var wakeFD: Int32 { pipeFDs.withLock { $0.0 } }

    init(name: String) throws(ApplianceIOError) {
        self.name = name
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ApplianceIOError(operation: "pipe", code: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        pipeFDs = Mutex((fds[0], fds[1]))
    }

    deinit {
        let (r, w) = pipeFDs.withLock { $0 }
        if r >= 0 { close(r) }
        if w >= 0 { close(w) }
    }

    func start(_ body: @escaping @Sendable () -> Void) throws(ApplianceIOError) {
        let box = Unmanaged.passRetained(ApplianceIOThreadBody(name: name, body: body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let body = Unmanaged<ApplianceIOThreadBody>.fromOpaque(raw!).takeRetainedValue()
            omni_name_current_thread(body.name)
            body.body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<ApplianceIOThreadBody>.fromOpaque(box).release()
            throw ApplianceIOError(operation: "pthread_create", code: rc)
        }
        thread.withLock { $0 = tid }
    }

    /// Makes the thread's poll() return; the thread then sees `isStopping` (its own flag).
    func wake() {
        let w = pipeFDs.withLock { $0.1 }
        guard w >= 0 else { return }
        var one: UInt8 = 1
        _ = write(w, &one, 1)
    }

    /// Empties the wake pipe (on the thread, after poll reported it readable).
    func drainWake() {
        let r = wakeFD
        var buf = [UInt8](repeating: 0, count: 64)
        while buf.withUnsafeMutableBytes({ read(r, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// Waits for the thread to end (or detaches when called on it).
    func join() {
        guard let tid = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) else { return }
        if pthread_equal(tid, pthread_self()) != 0 {
            pthread_detach(tid)
        } else {
            pthread_join(tid, nil)
        }
    }
}

private final class ApplianceIOThreadBody {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = String(name.prefix(15))  // the kernel's limit for thread names
        self.body = body
    }
}

/// A system call that failed while setting up an I/O thread.
public struct ApplianceIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    public init(operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation) failed: \(String(cString: strerror(code)))" }
}

/// poll() timeout in milliseconds until `deadline` (rounded up; -1 = none, 0 = now).
func pollTimeout(until deadline: Duration?, now: Duration, cap: Int32 = 1000) -> Int32 {
    guard let deadline else { return cap }
    if deadline <= now { return 0 }
    let (s, atto) = (deadline - now).components
    let ms = s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(min(Int64(cap), max(0, ms)))
}
