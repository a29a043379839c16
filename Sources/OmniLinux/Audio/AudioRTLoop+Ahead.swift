import OmniCore
import Synchronization

// Audio thread, writing a `file:` speaker ahead. Answer audio already in the ring plays next
// whatever happens, unless a request (flush, earcon, volume) changes it, so while an answer
// plays the loop writes whole periods of it up to `writeAheadFrames` (500 ms) past the one
// period the per-period loop keeps in the device, and sleeps while that plays (AudioRTClock:
// an "ahead" coast) instead of waking every period; more answer audio arriving meanwhile does
// not wake it (it is taken when the loop wakes to write on). A real device with a deeper buffer
// would play the same samples at the same moments: the file's sample n still plays at the
// device clock's n. Only whole periods the ring already holds (or the answer's known end) are
// written ahead, so what the per-period loop would do when the ring runs dry — an underrun, a
// new pre-roll — happens at the same period, decided at the same moment; the first period of
// an answer is written when the per-period loop writes it.
//
// What keeps every other timing as the per-period loop has it:
//  - the echo reference and the room hear each period at the iteration the per-period loop
//    would have built it: periods are kept in `tapHistory` and fed when the device clock gets
//    there (`tapBuilt`), so the microphone and its reference stay in step;
//  - a request that comes while the device holds audio written ahead takes the ahead part
//    back first: a flush rewinds the file to where the per-period loop would be and fades from
//    there (AudioRTLoop+Fade.swift); an earcon or a new volume rewinds it and builds those
//    periods again from the fade history (the answer audio, before earcon and volume), so the
//    earcon starts, and the volume changes, at the next period as before;
//  - after an ahead coast, the iterations whose time passed while it slept only read the
//    microphone and feed the tap: their periods were written before, and a request that woke
//    the loop takes effect at the first iteration of the present.
// ALSA devices never write ahead: their buffer is theirs (and a real device's analogue would be
// a deeper fill with snd_pcm_rewind on a request, under a capture avail_min to match).
// The RULES in AudioRTLoop.swift hold here: no allocation, no lock, no log.

extension AudioLoop {
    /// Where the per-period loop would have written the device up to by now.
    var normalWriteEnd: Int { virtualPlayed + s.playbackBuffer }

    /// An answer is playing and nothing is asked of the loop: the device may be written ahead
    /// (each period only if `aheadPeriodReady`).
    var mayWriteAhead: Bool {
        s.writeAheadFrames > 0 && playout.phase == .playing && replayEnd <= deviceWritten && quietForAhead
    }

    /// The next period may be written ahead: the ring holds all of it (or the rest of the
    /// answer, whose end is known), so building it now takes what building it at its own time
    /// would take. A device that is never written ahead (ALSA) always takes its next period:
    /// `normalWriteEnd` follows the virtual clock, which only a `file:` or clock-paced speaker
    /// has (without this, a real ALSA speaker got nothing past its first buffer while no answer
    /// audio was queued: it underran, and earcons waited for the next answer).
    var aheadPeriodReady: Bool {
        s.writeAheadFrames == 0 || deviceWritten < normalWriteEnd || playout.answerEnd != nil
            || s.playbackRing.availableToRead() >= s.playbackPeriod
    }

    /// No earcon, fade, volume change or request under way.
    private var quietForAhead: Bool {
        let sh = s.shared
        return earconSamples == nil && fadePosition >= fadeCount
            && Int32(truncatingIfNeeded: sh.pointee.gainQ16.load(ordering: .relaxed)) == builtGainQ16
            && sh.pointee.flushSerial.load(ordering: .acquiring) == seenFlush
            && sh.pointee.drainSerial.load(ordering: .acquiring) == seenDrain
            && sh.pointee.earconRequest.load(ordering: .acquiring) >> 8 == seenEarcon
            && !sh.pointee.stop.load(ordering: .relaxed)
    }

    /// How many periods the loop may sleep through because the device was written ahead (0:
    /// none): as long as what it holds covers every period the per-period loop would have
    /// written meanwhile, and the drain (its last sample played) is not due.
    func aheadCoastPeriods() -> Int {
        guard s.writeAheadFrames > 0, s.pacingSpeed > 0, earconSamples == nil, quietForAhead else { return 0 }
        return max(0, (deviceWritten - normalWriteEnd) / s.playbackPeriod)
    }

    /// The iteration's time passed during an ahead coast: its period was written before.
    var iterationPassedWhileAhead: Bool {
        aheadCoast && deadline(of: iteration) < wokeAt
    }

    /// A request that changes what plays (earcon, volume) while the device holds audio written
    /// ahead: the file goes back to where the per-period loop would be, and those periods are
    /// built again from the fade history.
    mutating func rebuildAhead() {
        guard deviceWritten > normalWriteEnd, normalWriteEnd >= historyFrom else { return }
        let end = deviceWritten
        if rewindAhead() { replayEnd = max(replayEnd, end) }
    }

    /// Takes back from the `file:` speaker what was written ahead (the file is cut there, and
    /// its frame count with it: a file's frames written stay its length). True if it did.
    @discardableResult
    mutating func rewindAhead() -> Bool {
        let keep = normalWriteEnd
        guard case .file(let state) = s.playback, s.writeAheadFrames > 0, deviceWritten > keep else { return false }
        FilePlaybackSink.rewind(state, toFrames: keep)
        s.shared.pointee.playbackFramesWritten.wrappingAdd(keep - deviceWritten, ordering: .relaxed)
        s.shared.pointee.playbackAheadFrames.store(0, ordering: .relaxed)
        deviceWritten = keep
        pendingFrames = 0
        return true
    }

    /// Where the per-period loop has written up to at this iteration's deadline (AudioShared,
    /// `aheadAnchor…`): sequentially consistent stores between two increments of the serial, so
    /// a reader that sees the same even serial before and after its loads has one iteration's
    /// values. Three stores, no wait.
    func publishAheadAnchor() {
        guard s.pacingSpeed > 0 else { return }  // unpaced: no deadlines, nothing to extrapolate
        let sh = s.shared
        sh.pointee.aheadAnchorSerial.wrappingAdd(1, ordering: .sequentiallyConsistent)
        sh.pointee.aheadAnchorNanos.store(deadline(of: iteration), ordering: .sequentiallyConsistent)
        sh.pointee.aheadAnchorIteration.store(sh.pointee.loopIterations.load(ordering: .relaxed),
                                             ordering: .sequentiallyConsistent)
        sh.pointee.aheadAnchorFrames.store(normalWriteEnd, ordering: .sequentiallyConsistent)
        sh.pointee.aheadAnchorSerial.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// The loop's period for the anchor, once when it starts (fixed for the streams' life); no
    /// anchor is valid until the first iteration publishes one.
    func publishAheadPeriod() {
        let sh = s.shared
        sh.pointee.aheadAnchorSerial.wrappingAdd(1, ordering: .sequentiallyConsistent)
        sh.pointee.aheadAnchorNanos.store(0, ordering: .sequentiallyConsistent)
        let interval = s.writeAheadFrames > 0 && s.pacingSpeed > 0 ? Int(periodNanos / s.pacingSpeed) : 0
        sh.pointee.aheadIntervalNanos.store(interval, ordering: .sequentiallyConsistent)
        sh.pointee.aheadPeriodFrames.store(s.playbackPeriod, ordering: .sequentiallyConsistent)
        sh.pointee.aheadAnchorSerial.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// fillPeriod, for a period built again (`rebuildAhead`): its answer audio from the fade
    /// history, in `playbackMono`. The playout already planned it.
    func replayedAnswer(period: Int) {
        let f = s.fade
        for i in 0..<period {
            let pos = deviceWritten + i
            s.playbackMono[i] = pos >= historyFrom && pos < historyEnd ? f.history[pos & f.historyMask] : 0
        }
    }

    /// After fillPeriod, with write-ahead: keeps the period as the device gets it for the tap.
    func rememberForTap(period: Int) {
        let mask = s.tapHistoryMask
        let start = deviceWritten & mask
        let first = min(period, mask + 1 - start)
        (s.tapHistory + start).update(from: s.playbackMono, count: first)
        if first < period { s.tapHistory.update(from: s.playbackMono + first, count: period - first) }
    }

    /// With write-ahead: feeds the echo reference and the room every period built up to where
    /// the per-period loop would have built by now (in normal playback, all of them, at once).
    mutating func tapBuilt() {
        guard s.writeAheadFrames > 0 else { return }
        let period = s.playbackPeriod
        let end = min(deviceWritten + pendingFrames, normalWriteEnd)
        s.shared.pointee.playbackAheadFrames.store(max(0, deviceWritten - normalWriteEnd), ordering: .relaxed)
        publishAheadAnchor()
        // A rewind took back periods not tapped yet: they are tapped when built again.
        while tapPosition + period <= end {
            let mask = s.tapHistoryMask
            let start = tapPosition & mask
            let first = min(period, mask + 1 - start)
            s.playbackMono.update(from: s.tapHistory + start, count: first)
            if first < period { (s.playbackMono + first).update(from: s.tapHistory, count: period - first) }
            tapPlayedPeriod()
            tapPosition += period
        }
    }
}
