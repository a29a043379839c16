#if canImport(Glibc)
import Glibc
#endif

// Starting the audio thread with SCHED_FIFO and locking the process's memory. Both need
// privileges (CAP_SYS_NICE / CAP_IPC_LOCK, or LimitRTPRIO= / LimitMEMLOCK= under systemd);
// without them the engine runs at normal priority and unlocked, and says so once.

enum RealtimeThread {
    struct Started {
        var thread: pthread_t
        /// The SCHED_FIFO priority in effect, nil for normal scheduling.
        var realtimePriority: Int?
        /// Why real-time scheduling was not used (when it was asked for).
        var warning: String?
    }

    /// Starts `entry(argument)` on a new thread, with SCHED_FIFO at `priority` when `priority`
    /// is > 0 and permitted. Returns nil (and the error) if no thread could be created at all.
    static func start(priority: Int, stackBytes: Int = 512 * 1024, argument: UnsafeMutableRawPointer,
                      entry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?)
        -> Result<Started, ThreadStartError>
    {
        var warning: String?
        if priority > 0 {
            let lo = Int(sched_get_priority_min(SCHED_FIFO))
            let hi = Int(sched_get_priority_max(SCHED_FIFO))
            let p = min(hi, max(lo, priority))
            var attr = pthread_attr_t()
            pthread_attr_init(&attr)
            defer { pthread_attr_destroy(&attr) }
            pthread_attr_setstacksize(&attr, stackBytes)
            pthread_attr_setinheritsched(&attr, Int32(PTHREAD_EXPLICIT_SCHED))
            pthread_attr_setschedpolicy(&attr, SCHED_FIFO)
            var param = sched_param()
            param.sched_priority = Int32(p)
            pthread_attr_setschedparam(&attr, &param)
            var tid = pthread_t()
            let rc = pthread_create(&tid, &attr, entry, argument)
            if rc == 0 { return .success(Started(thread: tid, realtimePriority: p, warning: nil)) }
            warning = "SCHED_FIFO priority \(p) not permitted (\(String(cString: strerror(rc)))); "
                + "the audio thread runs at normal priority and may glitch under load. "
                + "Grant CAP_SYS_NICE or LimitRTPRIO=\(p) to fix."
        }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, stackBytes)
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, entry, argument)
        guard rc == 0 else { return .failure(ThreadStartError(code: rc)) }
        return .success(Started(thread: tid, realtimePriority: nil, warning: warning))
    }

    /// mlockall(current + future, on fault): every page the process touches stays resident,
    /// so the audio thread never waits for a page-in. MCL_ONFAULT keeps reserved-but-unused
    /// address space (thread stacks, malloc arenas) from being committed. Returns nil on
    /// success, else why it failed.
    static func lockMemory() -> String? {
        if mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0 { return nil }
        let first = errno
        // Kernels before 4.4 refuse MCL_ONFAULT with EINVAL.
        if first == EINVAL, mlockall(MCL_CURRENT | MCL_FUTURE) == 0 { return nil }
        return "mlockall failed (\(String(cString: strerror(first)))); audio memory may be paged out. "
            + "Grant CAP_IPC_LOCK or LimitMEMLOCK=infinity to fix."
    }

    static func unlockMemory() {
        munlockall()
    }
}

struct ThreadStartError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { "pthread_create failed: \(String(cString: strerror(code)))" }
}
