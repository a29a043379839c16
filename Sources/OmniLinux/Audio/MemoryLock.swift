#if canImport(Glibc)
import Glibc
#endif

// Locking the process's memory so the audio thread never waits for a page-in. It needs
// CAP_IPC_LOCK or LimitMEMLOCK= under systemd; without it the engine runs unlocked and says so
// once. (The audio thread itself is started through OmniSystem's PThread, with SCHED_FIFO.)

enum MemoryLock {
    /// mlockall(current + future, on fault): every page the process touches stays resident,
    /// so the audio thread never waits for a page-in. MCL_ONFAULT keeps reserved-but-unused
    /// address space (thread stacks, malloc arenas) from being committed. Returns nil on
    /// success, else why it failed.
    static func lock() -> String? {
        if mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0 { return nil }
        let first = errno
        // Kernels before 4.4 refuse MCL_ONFAULT with EINVAL.
        if first == EINVAL, mlockall(MCL_CURRENT | MCL_FUTURE) == 0 { return nil }
        return "mlockall failed (\(String(cString: strerror(first)))); audio memory may be paged out. "
            + "Grant CAP_IPC_LOCK or LimitMEMLOCK=infinity to fix."
    }

    static func unlock() {
        munlockall()
    }
}
