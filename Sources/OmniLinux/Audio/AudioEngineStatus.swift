// What the engine lets anyone observe: cumulative counters (from the audio thread's atomics)
// and its current state, plus the test hook that fakes a device error.

public struct AudioCounters: Sendable, Equatable {
    public var capturedFrames = 0
    /// Captured frames dropped because nobody read the capture ring.
    public var captureOverflowFrames = 0
    /// Frames written to the playback device (answer, earcons and silence); for a `file:`
    /// speaker, its length (what was written ahead and taken back is not counted).
    public var playbackFramesWritten = 0
    /// Answer samples taken from the playback ring (device rate).
    public var answerFramesPlayed = 0
    public var captureXruns = 0
    public var playbackXruns = 0
    public var underruns = 0
    public var flushes = 0
    /// Audio-thread periods the latest flush waited before it took effect (design: ≤ 1).
    public var lastFlushLatencyPeriods = 0
    /// Of `playbackFramesWritten`, written ahead of the device's one-period buffer now (a
    /// `file:` speaker while the rest of an answer is known).
    public var playbackAheadFrames = 0
    /// `playbackFramesWritten` when the latest flush was requested (less what was written ahead).
    public var lastFlushRequestedAtFrame = 0
    public var earconsPlayed = 0
    public var deviceLosses = 0
    public var reopenings = 0
    public var reopenAttempts = 0
    public var loopIterations = 0
    public var audioThreadCPU: Duration = .zero

    public var xruns: Int { captureXruns + playbackXruns }
}

public struct AudioStatus: Sendable, Equatable {
    public var running: Bool
    public var devicesOpen: Bool
    public var capture: AudioDeviceFormat?
    public var playback: AudioDeviceFormat?
    /// SCHED_FIFO priority of the audio thread, nil when it runs at normal priority.
    public var realtimePriority: Int?
    public var memoryLocked: Bool
    /// Kernel thread id of the audio thread (for `chrt -p`, `top -H`).
    public var audioThreadID: Int?
}

extension AudioEngine {
    public var counters: AudioCounters {
        let s = shared
        var c = AudioCounters()
        c.capturedFrames = s.pointee.capturedFrames.load(ordering: .relaxed)
        c.captureOverflowFrames = s.pointee.captureOverflowFrames.load(ordering: .relaxed)
        c.playbackFramesWritten = s.pointee.playbackFramesWritten.load(ordering: .relaxed)
        c.playbackAheadFrames = s.pointee.playbackAheadFrames.load(ordering: .relaxed)
        c.answerFramesPlayed = s.pointee.answerFramesPlayed.load(ordering: .relaxed)
        c.captureXruns = s.pointee.captureXruns.load(ordering: .relaxed)
        c.playbackXruns = s.pointee.playbackXruns.load(ordering: .relaxed)
        c.underruns = s.pointee.underruns.load(ordering: .relaxed)
        c.flushes = s.pointee.flushesApplied.load(ordering: .relaxed)
        c.lastFlushLatencyPeriods = s.pointee.lastFlushLatencyPeriods.load(ordering: .relaxed)
        c.lastFlushRequestedAtFrame = s.pointee.flushRequestedAtFrame.load(ordering: .relaxed)
        c.earconsPlayed = s.pointee.earconsPlayed.load(ordering: .relaxed)
        c.deviceLosses = s.pointee.deviceLosses.load(ordering: .relaxed)
        c.reopenings = s.pointee.reopenings.load(ordering: .relaxed)
        c.reopenAttempts = s.pointee.reopenAttempts.load(ordering: .relaxed)
        c.loopIterations = s.pointee.loopIterations.load(ordering: .relaxed)
        c.audioThreadCPU = .nanoseconds(s.pointee.audioThreadCPUNanos.load(ordering: .relaxed))
        return c
    }

    public var status: AudioStatus {
        control.withLock { c in
            let open = c.plan != nil
            let tid = shared.pointee.audioThreadID.load(ordering: .relaxed)
            return AudioStatus(running: c.running, devicesOpen: open, capture: c.plan?.captureFormat,
                               playback: c.plan?.playbackFormat, realtimePriority: c.plan?.realtimePriority,
                               memoryLocked: c.memoryLocked, audioThreadID: open && tid != 0 ? tid : nil)
        }
    }

    /// Test hook: the audio thread's next capture read (or playback avail) fails with `-errno`,
    /// as if the device had returned it (EPIPE: xrun, ENODEV: unplugged). ALSA devices only.
    public func _injectDeviceError(_ direction: AudioDirection, errno code: Int32) {
        switch direction {
        case .capture: shared.pointee.injectCaptureError.store(-Int(code), ordering: .relaxed)
        case .playback: shared.pointee.injectPlaybackError.store(-Int(code), ordering: .relaxed)
        }
    }
}
