#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import Synchronization

// The one way omnid starts a thread (Foundation's Thread is not shipped): a named pthread,
// optionally with its own stack size and SCHED_FIFO priority. Every thread in the process —
// audio, audio monitor, websocket service, GPIO/keyboard/control I/O — comes from here, so each
// shows its name in top -H, gdb and /proc/PID/task/*/comm.

public final class PThread: Sendable {
    public struct Options: Sendable {
        /// At most 15 bytes reach the kernel.
        public var name: String
        /// nil: the system default (8 MiB of address space, committed only as touched).
        public var stackBytes: Int?
        /// SCHED_FIFO at this priority (clamped to the system's range); nil or 0: normal.
        public var realtimePriority: Int?

        public init(name: String, stackBytes: Int? = nil, realtimePriority: Int? = nil) {
            self.name = name
            self.stackBytes = stackBytes
            self.realtimePriority = realtimePriority
        }
    }

    public let name: String
    /// The SCHED_FIFO priority in effect; nil for normal scheduling.
    public let realtimePriority: Int?
    /// Why real-time scheduling was not used when it was asked for.
    public let warning: String?
    private let handle: Mutex<pthread_t?>

    private init(name: String, handle: pthread_t, realtimePriority: Int?, warning: String?) {
        self.name = name
        self.handle = Mutex(handle)
        self.realtimePriority = realtimePriority
        self.warning = warning
    }

    /// Starts `body` on a new thread.
    public static func start(_ options: Options, _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) -> PThread {
        try launch(options, ThreadEntry(name: options.name, run: .closure(body)))
    }

    /// Starts a C entry point: for the real-time audio thread, whose loop must not go through a
    /// Swift closure context it does not control. The entry is still named before it runs.
    public static func start(_ options: Options, argument: UnsafeMutableRawPointer,
                             entry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?)
        throws(ThreadStartError) -> PThread
    {
        try launch(options, ThreadEntry(name: options.name, run: .c(entry, UInt(bitPattern: argument))))
    }

    /// True on the thread itself.
    public var isCurrent: Bool {
        handle.withLock { t in t.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Waits for the thread to end. Called on the thread itself it detaches instead (a thread
    /// cannot join itself); a second call does nothing.
    public func join() {
        guard let t = handle.withLock({ t -> pthread_t? in defer { t = nil }; return t }) else { return }
        if pthread_equal(t, pthread_self()) != 0 {
            pthread_detach(t)
        } else {
            pthread_join(t, nil)
        }
    }

    /// Lets the thread end on its own, never joined: for a thread that may block in a call
    /// nobody can interrupt (a DNS lookup) and whose result may no longer be wanted. Its
    /// resources go back to the system when it ends; the process may exit before it does.
    public func detach() {
        guard let t = handle.withLock({ t -> pthread_t? in defer { t = nil }; return t }) else { return }
        pthread_detach(t)
    }

    private static func launch(_ options: Options, _ entry: ThreadEntry) throws(ThreadStartError) -> PThread {
        let box = Unmanaged.passRetained(entry).toOpaque()
        var warning: String?
        if let priority = options.realtimePriority, priority > 0 {
            let p = min(Int(sched_get_priority_max(SCHED_FIFO)), max(Int(sched_get_priority_min(SCHED_FIFO)), priority))
            switch create(options.stackBytes, fifoPriority: p, box) {
            case .success(let t): return PThread(name: options.name, handle: t, realtimePriority: p, warning: nil)
            case .failure(let e):
                warning = "SCHED_FIFO priority \(p) not permitted (\(String(cString: strerror(e.code)))); "
                    + "the \(options.name) thread runs at normal priority and may glitch under load. "
                    + "Grant CAP_SYS_NICE or LimitRTPRIO=\(p) to fix."
            }
        }
        switch create(options.stackBytes, fifoPriority: nil, box) {
        case .success(let t): return PThread(name: options.name, handle: t, realtimePriority: nil, warning: warning)
        case .failure(let e):
            Unmanaged<ThreadEntry>.fromOpaque(box).release()
            throw e
        }
    }

    private static func create(_ stackBytes: Int?, fifoPriority: Int?, _ box: UnsafeMutableRawPointer)
        -> Result<pthread_t, ThreadStartError>
    {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if let stackBytes { pthread_attr_setstacksize(&attr, stackBytes) }
        if let fifoPriority {
            pthread_attr_setinheritsched(&attr, Int32(PTHREAD_EXPLICIT_SCHED))
            pthread_attr_setschedpolicy(&attr, SCHED_FIFO)
            var param = sched_param()
            param.sched_priority = Int32(fifoPriority)
            pthread_attr_setschedparam(&attr, &param)
        }
        var t = pthread_t()
        let rc = pthread_create(&t, &attr, { raw in
            let entry = Unmanaged<ThreadEntry>.fromOpaque(raw!).takeRetainedValue()
            omni_name_current_thread(entry.name)
            switch entry.run {
            case .closure(let body): body()
            case .c(let function, let argument): _ = function(UnsafeMutableRawPointer(bitPattern: argument))
            }
            return nil
        }, box)
        return rc == 0 ? .success(t) : .failure(ThreadStartError(code: rc))
    }
}

private final class ThreadEntry: Sendable {
    enum Run: Sendable {
        case closure(@Sendable () -> Void)
        /// The argument as a bit pattern: raw pointers are not Sendable, and ownership of what it
        /// points to stays with the starter.
        case c(@convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?, UInt)
    }
    let name: String
    let run: Run

    init(name: String, run: Run) {
        self.name = name
        self.run = run
    }
}

public struct ThreadStartError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public init(code: Int32) { self.code = code }
    public var description: String { "pthread_create failed: \(String(cString: strerror(code)))" }
}
