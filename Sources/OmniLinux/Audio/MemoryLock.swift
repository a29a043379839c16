#if canImport(Glibc)
import Glibc
#endif

// Locking the audio working set so the audio thread never waits for a page-in: the rings, the
// shared atomics, the stream plan's buffers and the audio thread's stack — and nothing else.
// (It used to be mlockall(MCL_CURRENT | MCL_FUTURE): every page the process ever touched
// stayed locked, the libwebsockets buffers and controller heap included, and glibc could not
// give freed arena memory back, since MADV_DONTNEED fails on locked pages.) The code the audio
// thread runs is not locked: it is clean, file-backed and touched every period, the last
// thing the kernel reclaims. Locking needs CAP_IPC_LOCK or a memlock limit above the working
// set (about 1 MiB; systemd's default is 8 MiB); without it the engine runs unlocked and says
// so once.

enum MemoryLock {
    /// Locks the pages under [address, address + bytes) (they are made resident). Returns nil
    /// on success, else why it failed.
    static func lock(_ address: UnsafeRawPointer, bytes: Int) -> String? {
        guard bytes > 0 else { return nil }
        if mlock(address, bytes) == 0 { return nil }
        let e = errno
        return "mlock of the audio buffers failed (\(String(cString: strerror(e)))); audio memory may be paged out. "
            + "Grant CAP_IPC_LOCK or raise LimitMEMLOCK= to fix."
    }

    static func unlock(_ address: UnsafeRawPointer, bytes: Int) {
        guard bytes > 0 else { return }
        _ = munlock(address, bytes)
    }
}

/// A set of locked regions, unlocked together.
struct LockedRegions {
    private(set) var regions: [(UnsafeRawPointer, Int)] = []

    /// Locks and remembers the region; returns the first failure.
    mutating func lock(_ address: UnsafeRawPointer, bytes: Int) -> String? {
        if let failure = MemoryLock.lock(address, bytes: bytes) { return failure }
        regions.append((address, bytes))
        return nil
    }

    mutating func unlockAll() {
        for (address, bytes) in regions { MemoryLock.unlock(address, bytes: bytes) }
        regions.removeAll()
    }

    var bytes: Int { regions.reduce(0) { $0 + $1.1 } }
}
