import OmniCore

/// Playback conversion state, owned by whoever holds the playback mutex (the ring's producer):
/// the 24 kHz → device-rate resampler and the answer audio that did not fit the ring yet.
/// @unchecked Sendable: it only ever lives inside that Mutex; the resampler is never shared.
///
/// ThreadSanitizer (swift test --sanitize=thread) reports a "Swift access race" on this value
/// between the controller (enqueuePlayback / endOfAnswer) and the monitor's pumpPlayback().
/// It is a false report, not a race: the value is reachable only inside
/// `Mutex<PlaybackSide>.withLock`, and TSan loses the mutex's happens-before edge whenever the
/// lock is contended. Synchronization.Mutex on Linux inlines only its fast path (an acquiring
/// compare-exchange, which TSan sees); a contended acquire runs `_MutexHandle._lockSlow` in
/// libswiftSynchronization.so, which is not instrumented (a spin, then FUTEX_LOCK_PI, where the
/// kernel hands the lock over). Declaring that edge to TSan (__tsan_acquire/__tsan_release in
/// the critical sections, nothing else changed) makes every report disappear; a minimal
/// reproduction shows the same report on a bare Mutex<[Int]> and none with a pthread_mutex
/// (which TSan intercepts). Evidence: TSAN_PLAYBACKSIDE.md at the top of the repository.
struct PlaybackSide: @unchecked Sendable {
    var resampler: any Resampler
    var converted: [Int16] = []
    /// Device-rate samples waiting for room in the ring.
    var pending: [Int16] = []
    var pendingHead = 0

    /// Device (output) rate.
    let rate: Int

    init(resampler: any Resampler) {
        self.resampler = resampler
        rate = resampler.outputRate
    }
    var pendingCount: Int { pending.count - pendingHead }

    mutating func push(_ samples: [Int16], into ring: SPSCRingView) {
        guard !samples.isEmpty else { return }
        var start = 0
        if pendingCount == 0 {
            start = samples.withUnsafeBufferPointer { ring.write($0.baseAddress!, count: $0.count) }
        }
        if start < samples.count { pending.append(contentsOf: samples[start...]) }
    }

    mutating func pump(into ring: SPSCRingView) {
        guard pendingCount > 0 else { return }
        let head = pendingHead
        let n = pending.withUnsafeBufferPointer { ring.write($0.baseAddress! + head, count: $0.count - head) }
        pendingHead += n
        if pendingHead == pending.count {
            clearPending()
        } else if pendingHead > 1 << 16 && pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    mutating func clearPending() {
        pending.removeAll(keepingCapacity: pending.count < 1 << 20)
        pendingHead = 0
    }
}
