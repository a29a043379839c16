#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import Synchronization

// The monitor thread ("omni-audio-mon", normal priority): it sleeps in poll() on the engine's
// eventfd and, each time it is woken, moves answer audio that did not fit the playback ring,
// reports the audio thread's counter changes as events, answers capture wake-ups, and handles
// device loss (close, report, reopen every `reopenInterval`). The audio thread wakes it only
// when one of those has something to do (AudioRTLoop+Wake.swift), so an idle engine costs no
// wake-ups here; its one timed wake-up is the next reopen attempt while a device is missing.
// Each pass looks at everything (all level-triggered), so one wake-up for several reasons, or
// a spurious one, is harmless. It is the only thread that calls `onEvent`, and the only one
// besides callers of the public API that takes the playback mutex.
//
// With `Options.eventLoop` the same passes run on that loop's thread instead (the daemon's
// controller loop, which watches the eventfd): the audio thread's reports then wake the thread
// that acts on them, with no monitor thread in between, and the reopen attempts are the loop's
// timers (AudioEngine+LoopMonitor.swift).

/// Counter values already turned into events.
struct MonitorSeen {
    var captureXruns = 0
    var playbackXruns = 0
    var underruns = 0
    var drainedSerial = 0
    var captureWakeups = 0
    var answerStarted = 0
}

/// What the monitor keeps from one pass to the next.
struct MonitorState {
    var seen: MonitorSeen
    /// When the next reopen attempt is due (monotonic ns), while a device is missing.
    var nextReopen: Int
}

extension AudioEngine {
    func monitorMain() {
        // What was already reported survives stop/start; anything since (even before this
        // thread got going) is reported now.
        var state = MonitorState(seen: reported.withLock { $0 }, nextReopen: monotonicNanos() + reopenNanos)
        defer { reported.withLock { [state] in $0 = state.seen } }
        // A pass first: a startup loss, or anything from before this thread ran.
        while !monitorStop.load(ordering: .acquiring) {
            let due = monitorPass(&state)
            waitForWork(until: due)
        }
    }

    var reopenNanos: Int { max(1_000_000, nanos(options.reopenInterval)) }

    /// One look at everything (see above). Returns when the next reopen attempt is due (nil:
    /// no device is missing).
    func monitorPass(_ state: inout MonitorState) -> Int? {
        pumpPlayback()
        if let event = control.withLock({ c -> AudioEvent? in defer { c.startupLoss = nil }; return c.startupLoss }) {
            emit(event)
        }
        if shared.pointee.streamState.load(ordering: .acquiring) == AudioStreamState.lost.rawValue {
            handleLoss()
            state.nextReopen = monotonicNanos() + reopenNanos
        }
        reportCounters(&state.seen)
        let reopening = control.withLock { $0.reopenPending }
        if reopening && monotonicNanos() >= state.nextReopen {
            tryReopen()
            state.nextReopen = monotonicNanos() + reopenNanos
        }
        let stillReopening = reopening && control.withLock { $0.reopenPending }
        return stillReopening ? state.nextReopen : nil
    }

    /// Sleeps until the audio thread (or stop(), or a request that needs the monitor) writes
    /// the eventfd, or until `deadline` (monotonic ns). Without an eventfd: 10 ms steps.
    private func waitForWork(until deadline: Int?) {
        guard wakeFD >= 0 else {
            sleepUntil(monotonicNanos: min(deadline ?? .max, monotonicNanos() + 10_000_000))
            return
        }
        var timeout: Int32 = -1
        if let deadline {
            let ms = (deadline - monotonicNanos() + 999_999) / 1_000_000
            timeout = Int32(clamping: max(0, ms))
        }
        var fd = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        if poll(&fd, 1, timeout) > 0 && fd.revents & Int16(POLLIN) != 0 {
            var count: UInt64 = 0
            _ = read(wakeFD, &count, 8)
        }
    }

    private func nanos(_ d: Duration) -> Int {
        Int(d.wholeNanoseconds)
    }

    private func emit(_ event: AudioEvent) {
        onEvent(event)
    }

    /// Moves queued answer audio into the ring as the audio thread frees room, and asks for the
    /// next wake-up if some still waits. TSan's report of a race between this and endOfAnswer()
    /// is a false one (see AudioPlaybackSide.swift).
    private func pumpPlayback() {
        playbackSide.withLock { side in
            let ring = playbackRing.view
            guard side.pendingCount > 0 else { return }
            side.pump(into: ring)
            armPlaybackRoom(side, ring)
        }
    }

    private func reportCounters(_ seen: inout MonitorSeen) {
        let cx = shared.pointee.captureXruns.load(ordering: .relaxed)
        if cx != seen.captureXruns {
            seen.captureXruns = cx
            logger.warning("audio capture xrun recovered (total \(cx))")
            emit(.xrun(direction: .capture, total: cx))
        }
        let px = shared.pointee.playbackXruns.load(ordering: .relaxed)
        if px != seen.playbackXruns {
            seen.playbackXruns = px
            logger.warning("audio playback xrun recovered (total \(px))")
            emit(.xrun(direction: .playback, total: px))
        }
        let u = shared.pointee.underruns.load(ordering: .relaxed)
        if u != seen.underruns {
            seen.underruns = u
            logger.notice("answer audio underrun, played silence (total \(u))")
            emit(.underrun(total: u))
        }
        let d = shared.pointee.drainedSerial.load(ordering: .acquiring)
        if d != seen.drainedSerial {
            seen.drainedSerial = d
            logger.debug("playback drained")
            emit(.playbackDrained)
        }
        let a = shared.pointee.answerStartedGeneration.load(ordering: .acquiring)
        if a != seen.answerStarted {
            seen.answerStarted = a
            emit(.answerStarted(generation: a))
        }
        let w = shared.pointee.captureWakeups.load(ordering: .acquiring)
        if w != seen.captureWakeups {
            seen.captureWakeups = w
            handleCaptureWake()
        }
        // An endOfAnswer() while no devices are open would otherwise never drain.
        if control.withLock({ $0.plan == nil }) { completeOutstandingDrain() }
    }

    /// Marks the latest endOfAnswer() drained unless a flush cancelled it.
    private func completeOutstandingDrain() {
        let requested = shared.pointee.drainSerial.load(ordering: .acquiring)
        let drained = shared.pointee.drainedSerial.load(ordering: .relaxed)
        let cancelled = shared.pointee.flushCancelsDrainsUpTo.load(ordering: .relaxed)
        if requested > drained && requested > cancelled {
            shared.pointee.drainedSerial.store(requested, ordering: .releasing)
        }
    }

    /// The audio thread left its loop with a device error: close, report, start reopening.
    private func handleLoss() {
        let code = Int32(truncatingIfNeeded: shared.pointee.lostError.load(ordering: .relaxed))
        let direction: AudioDirection = shared.pointee.lostDirection.load(ordering: .relaxed) == 2 ? .playback : .capture
        let device = direction == .capture ? config.capture : config.playback
        control.withLock { c in
            stopStreams(&c)
            c.reopenPending = true
            c.lastOpenError = nil
        }
        discardQueues()
        completeOutstandingDrain()
        shared.pointee.deviceLosses.wrappingAdd(1, ordering: .relaxed)
        let reason = code == -ETIMEDOUT ? "\(device): no audio for \(options.stallTimeout)" : "\(device): \(ALSA.errorText(code))"
        logger.error("audio \(direction.rawValue) device lost (\(reason)); reopening every \(options.reopenInterval)")
        emit(.deviceLost(direction: direction, reason: reason))
    }

    /// One attempt to open the devices again.
    private func tryReopen() {
        shared.pointee.reopenAttempts.wrappingAdd(1, ordering: .relaxed)
        let formats: (AudioDeviceFormat, AudioDeviceFormat)? = control.withLock { c in
            guard c.running, c.reopenPending else { return nil }
            do {
                try startStreams(&c)
                return c.plan.map { ($0.captureFormat, $0.playbackFormat) }
            } catch {
                let text = "\(error)"
                if c.lastOpenError != text {
                    logger.info("audio devices still unavailable: \(text)")
                    c.lastOpenError = text
                }
                return nil
            }
        }
        if let (capture, playback) = formats {
            shared.pointee.reopenings.wrappingAdd(1, ordering: .relaxed)
            logger.notice("audio devices back")
            emit(.deviceBack(capture: capture, playback: playback))
        }
    }
}
