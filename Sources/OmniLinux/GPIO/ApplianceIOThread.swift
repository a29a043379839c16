#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniSystem
import Synchronization

// A named thread (OmniSystem's PThread) plus a self-pipe to wake it out of poll(), for the GPIO
// button, the keyboard and the control socket.

final class ApplianceIOThread: Sendable {
    let name: String
    private let thread = Mutex<PThread?>(nil)
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
        do {
            // I/O threads only poll and parse lines: 256 KiB of stack is plenty.
            let t = try PThread.start(PThread.Options(name: name, stackBytes: 256 * 1024), body)
            thread.withLock { $0 = t }
        } catch {
            throw ApplianceIOError(operation: "pthread_create", code: error.code)
        }
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
        thread.withLock { t -> PThread? in defer { t = nil }; return t }?.join()
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
