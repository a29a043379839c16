#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import OmniCore
import Synchronization

// The audio thread's clock: the time sources (also used by the monitor thread) and the loop's
// pacing step. Real-time safe: clock_gettime, clock_nanosleep, ppoll and a non-blocking read
// only (AudioRTLoop.swift rules).
//
// Coasting (clock-paced loops only: the `file:` backend and clock-less ALSA devices): a device
// woken every period costs a context switch per period even when there is nothing to play and
// nobody listening, which on a shared VM is most of an idle appliance's CPU. So while playback
// is idle (nothing in the ring, no answer or drain pending, no earcon, no request waiting),
// the loop sleeps several periods at once, in ppoll() on the kick eventfd, then catches up: it
// runs the periods whose deadlines passed back to back. It coasts up to `coastNanos`, and no
// further than the capture wake-up armed (the consumer's next 100 ms chunk while the user
// speaks, the idle trim otherwise): the period that completes the chunk is read at its own
// deadline, as the per-period loop reads it. Catch-up keeps every timing the per-period loop has:
//  - capture: the periods are read in order (the ring keeps filling: look-back stays possible);
//    a period whose nominal read time is before the latest discardCaptured() is dropped, as it
//    would have been in the ring when the discard happened; a wake-up armed during a coast
//    below its horizon kicks the loop (AudioEngine.armCaptureWake); whoever needs the ring to
//    be current before the next wake-up (the end of a turn: its last partial chunk) asks for a
//    catch-up (AudioEngine.catchUpCapture), which the loop acknowledges once it has read every
//    period due, through a capture wake-up;
//  - playback: a period whose slot had already begun when the loop woke is written as silence
//    without touching the playout or the ring (it did play silence: nothing was queued), so
//    audio queued during the coast starts at the next period boundary, as it would have;
//  - anything asked of the loop (playback, earcon, flush, drain, stop) kicks it awake at once
//    (AudioEngine.kickAudioThread).
// A device-paced ALSA loop never coasts: its clock is the device's period. (Its analogue would
// be a capture avail_min of a chunk while nothing plays, with the same catch-up at release.)

@inline(__always) func monotonicNanos() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

@inline(__always) func threadCPUNanos() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

@inline(__always) func sleepUntil(monotonicNanos deadline: Int) {
    var ts = timespec(tv_sec: deadline / 1_000_000_000, tv_nsec: deadline % 1_000_000_000)
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
}

/// The longest a clock-paced loop sleeps at once (idle, or through audio written ahead). Each
/// coast is a wake-up, and on a VM a wake-up costs about 100 us however little it does; a
/// longer coast only means more periods caught up back to back when it ends (a few preads).
let coastNanos = 500_000_000

extension AudioLoop {
    /// When the clock-paced loop should run `iteration` (monotonic ns).
    @inline(__always) func deadline(of iteration: Int) -> Int {
        startNanos + Int(Double(iteration) * periodNanos / s.pacingSpeed)
    }

    /// Advances the loop's clock; sleeps to the next deadline when paced (or coasts).
    mutating func pace(captured: Int) {
        if s.pacingSpeed > 0 {
            elapsedCaptureFrames += s.capturePeriod
            var deadline = deadline(of: iteration)
            let now = monotonicNanos()
            if now - deadline > 1_000_000_000 {
                // Far behind (stopped in a debugger, starved): restart the schedule, no burst.
                startNanos = now - Int(Double(iteration) * periodNanos / s.pacingSpeed)
                deadline = now
            }
            if deadline > now {
                // Every period due is in the ring: a catch-up asked for is done.
                acknowledgeCatchUp()
                let periods = coastablePeriods()
                if periods > 1 {
                    let sh = s.shared
                    sh.pointee.coastBase.store(s.captureRing.writePosition, ordering: .relaxed)
                    sh.pointee.coastInterval.store(Int(periodNanos / s.pacingSpeed), ordering: .relaxed)
                    sh.pointee.coastPeriodFrames.store(s.capturePeriod, ordering: .relaxed)
                    sh.pointee.coastDueFrom.store(deadline, ordering: .sequentiallyConsistent)
                    if aheadCoast { sh.pointee.aheadCoasting.store(true, ordering: .releasing) }
                    let coastEnd = self.deadline(of: iteration + periods - 1)
                    coast(until: coastEnd)
                    if aheadCoast { sh.pointee.aheadCoasting.store(false, ordering: .releasing) }
                    sh.pointee.coastDueFrom.store(Int.max, ordering: .sequentiallyConsistent)
                    sh.pointee.coastHorizon.store(Int.min, ordering: .sequentiallyConsistent)
                    // A coast that slept to its end woke at that iteration's deadline, as the
                    // per-period loop's sleep would: that iteration is the present (it builds
                    // its period and writes ahead again), not one that passed. Without this an
                    // ahead coast took two wake-ups per cycle: the coast, then one more period's
                    // sleep before the next write.
                    wokeAt = min(monotonicNanos(), coastEnd)
                } else {
                    sleepUntil(monotonicNanos: deadline)
                }
            }
        } else {
            elapsedCaptureFrames += captured
            if captured == 0 {
                // A device that says "ready" but yields nothing (file plugin past its input):
                // do not spin.
                zeroReads += 1
                if zeroReads > 2 { sleepUntil(monotonicNanos: monotonicNanos() + Int(periodNanos)) }
            } else {
                zeroReads = 0
            }
        }
        if s.virtualPlayback {
            let clock = elapsedCaptureFrames * s.playbackRate / s.captureRate
            virtualPlayed = min(deviceWritten, virtualPlayed + (clock - lastVirtualClock))
            lastVirtualClock = clock
        }
    }

    /// Whether this iteration's playback slot had begun before the loop woke from a coast (it
    /// is written as silence, see above).
    var playbackSlotPassed: Bool {
        s.pacingSpeed > 0 && deadline(of: iteration) < wokeAt
    }

    /// A capture period read at this iteration was due before the latest discard.
    var captureReadBeforeDiscard: Bool {
        s.pacingSpeed > 0 && deadline(of: iteration - 1) <= s.shared.pointee.captureDiscardedAt.load(ordering: .relaxed)
    }

    /// How many periods the loop may sleep through from here (1: none). Kicks are consumed
    /// only when the loop may coast (a read(2) every busy period cost a system call each), and
    /// the conditions are looked at again after that, so a kick whose cause came before the read
    /// is seen there and one that comes after it ends the coast at once. The horizon is
    /// published before the wake-up position is read again (both sequentially consistent, as
    /// in armCaptureWake), so a wake-up armed meanwhile is either seen here or kicks the coast.
    mutating func coastablePeriods() -> Int {
        // Idle, or an answer written ahead that covers the periods slept through (AudioRTLoop+Ahead).
        func allowed() -> Int { mayCoast() ? .max : aheadCoastPeriods() }
        guard s.kickFD >= 0, allowed() > 1 else { return 1 }
        var count: UInt64 = 0
        _ = read(s.kickFD, &count, 8)
        let playback = allowed()
        guard playback > 1 else { return 1 }
        aheadCoast = playback != .max
        var periods = min(max(1, Int(Double(coastNanos) * s.pacingSpeed / periodNanos)), periodsUntilCaptureWake(), playback)
        guard periods > 1 else { return 1 }
        let horizon = s.captureRing.writePosition + (periods - 1) * s.capturePeriod
        s.shared.pointee.coastHorizon.store(horizon, ordering: .sequentiallyConsistent)
        periods = min(periods, periodsUntilCaptureWake())
        if periods <= 1 { s.shared.pointee.coastHorizon.store(Int.min, ordering: .sequentiallyConsistent) }
        return periods
    }

    /// Periods until the capture wake-up fires, counting the one that fires it (Int.max: none
    /// armed and nobody waiting). A live consumer between two requests is expected to ask for
    /// the next chunk near `captureCoastLimit`; past it the loop goes period by period.
    private func periodsUntilCaptureWake() -> Int {
        let sh = s.shared
        var at = sh.pointee.captureWakePosition.load(ordering: .sequentiallyConsistent)
        if at == Int.max {
            guard sh.pointee.captureLive.load(ordering: .acquiring) else { return .max }
            at = sh.pointee.captureCoastLimit.load(ordering: .acquiring)
            if at == Int.max { return 1 }
        }
        let left = (at - s.captureRing.writePosition + s.capturePeriod - 1) / s.capturePeriod
        return max(1, left)
    }

    /// Nothing to play, nothing asked of the loop.
    private func mayCoast() -> Bool {
        let sh = s.shared
        return earconSamples == nil && playout.phase == .buffering && playout.answerEnd == nil && !playout.hasPendingDrain
            && s.playbackRing.availableToRead() == 0
            && sh.pointee.flushSerial.load(ordering: .acquiring) == seenFlush
            && sh.pointee.drainSerial.load(ordering: .acquiring) == seenDrain
            && sh.pointee.earconRequest.load(ordering: .acquiring) >> 8 == seenEarcon
            && !sh.pointee.stop.load(ordering: .relaxed)
    }

    /// At a point where every period due has been read: acknowledges the latest catch-up
    /// request (AudioEngine.catchUpCapture) with a capture wake-up.
    private func acknowledgeCatchUp() {
        let sh = s.shared
        let requested = sh.pointee.catchUpRequested.load(ordering: .sequentiallyConsistent)
        guard requested != sh.pointee.catchUpDone.load(ordering: .relaxed) else { return }
        sh.pointee.catchUpDone.store(requested, ordering: .releasing)
        sh.pointee.captureWakeups.wrappingAdd(1, ordering: .releasing)
        wakeOwner()
    }

    /// Sleeps until `deadline` or a kick, whichever comes first.
    func coast(until deadline: Int) {
        _ = omni_wait_readable_until(s.kickFD, Int64(deadline))
    }
}
