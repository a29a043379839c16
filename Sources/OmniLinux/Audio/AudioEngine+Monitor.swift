#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import Synchronization

// The monitor thread ("omni-audio-mon", normal priority): every `monitorInterval` it moves
// answer audio that did not fit the playback ring, reports the audio thread's counter changes
// as events, and handles device loss (close, report, reopen every `reopenInterval`). It is the
// only thread that calls `onEvent`, and the only one besides callers of the public API that
// takes the playback mutex.

/// Counter values already turned into events.
struct MonitorSeen {
    var captureXruns = 0
    var playbackXruns = 0
    var underruns = 0
    var drainedSerial = 0
    var overflowLogged = 0
}

extension AudioEngine {
    func monitorMain() {
        // What was already reported survives stop/start; anything since (even before this
        // thread got going) is reported now.
        var seen = reported.withLock { $0 }
        defer { reported.withLock { [seen] in $0 = seen } }
        let intervalNanos = max(1_000_000, nanos(options.monitorInterval))
        let reopenNanos = max(1_000_000, nanos(options.reopenInterval))
        var nextReopen = monotonicNanos() + reopenNanos
        while !monitorStop.load(ordering: .relaxed) {
            sleepUntil(monotonicNanos: monotonicNanos() + intervalNanos)
            pumpPlayback()
            if let event = control.withLock({ c -> AudioEvent? in defer { c.startupLoss = nil }; return c.startupLoss }) {
                emit(event)
            }
            if shared.pointee.streamState.load(ordering: .acquiring) == AudioStreamState.lost.rawValue {
                handleLoss()
                nextReopen = monotonicNanos() + reopenNanos
            }
            reportCounters(&seen)
            if control.withLock({ $0.reopenPending }) && monotonicNanos() >= nextReopen {
                tryReopen()
                nextReopen = monotonicNanos() + reopenNanos
            }
        }
    }

    private func nanos(_ d: Duration) -> Int {
        Int(d.wholeNanoseconds)
    }

    private func emit(_ event: AudioEvent) {
        onEvent(event)
    }

    /// Moves queued answer audio into the ring as the audio thread frees room. TSan's report of
    /// a race between this and endOfAnswer() is a false one (see AudioPlaybackSide.swift).
    private func pumpPlayback() {
        let ring = playbackRing.view
        playbackSide.withLock { $0.pump(into: ring) }
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
