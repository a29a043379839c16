#if canImport(Glibc)
import Glibc
#endif
import CALSA
import OmniCore

// Audio thread, the fade of a flush (barge-in). Dropping the queued answer at once leaves the
// speaker jumping from the sample playing to zero: a click, loudest exactly when the user is
// talking over the answer. Instead the answer is carried on for at most `RTFade.frames` (10 ms)
// from the sample the device plays next, under a linear ramp down to silence, and then stops.
// A linear ramp over L samples adds at most peak/L to any sample-to-sample step, and the fade
// is written in the period after the flush is seen, so the speaker is silent within one period
// plus 10 ms of the request.
//
// Where the carried-on answer comes from: the answer audio of the periods already built is kept
// in `RTFade.history` (by device position), because what the device has not played yet is no
// longer in the playback ring.
//   - file and clock-paced devices: everything before `deviceWritten` counts as played (the
//     virtual device is dropped to that point as before); the fade starts there (a `file:`
//     speaker written ahead is first rewound to where the per-period loop would be,
//     AudioRTLoop+Ahead.swift);
//   - a real ALSA device: the frames it has not played are taken back with snd_pcm_rewind (no
//     snd_pcm_drop, which would stop the device on whatever sample it was at) and the fade
//     starts at the first of them, so the sample heard next is the one that would have been.
//     Should the device refuse the rewind, it is dropped and prepared as before.
// The RULES in AudioRTLoop.swift hold here: no allocation (the buffers are in the stream plan),
// no lock, no log.

extension AudioLoop {
    /// Called by applyRequests for a flush before the ring is skipped to `mark`: captures the
    /// fade's source (history, then the ring up to `mark`) and arms it. Returns whether the
    /// playback device keeps running (true) or must be dropped and prepared (false).
    mutating func startFade(flushMark mark: Int) -> Bool {
        let f = s.fade
        let builtEnd = deviceWritten + pendingFrames
        // Written ahead: take back what the per-period loop would not have written yet.
        rewindAhead()
        replayEnd = 0
        var from = deviceWritten
        var keepsDevice = true
        if case .alsa(let pcm) = s.playback, !s.virtualPlayback {
            let r = snd_pcm_rewindable(pcm)
            if r > 0 {
                let got = snd_pcm_rewind(pcm, snd_pcm_uframes_t(min(r, deviceWritten)))
                if got >= 0 {
                    deviceWritten -= got
                    from = deviceWritten
                } else {
                    keepsDevice = false
                }
            } else if r < 0 {
                keepsDevice = false
            }
        } else if case .alsa = s.playback {
            keepsDevice = false  // a clock-paced ALSA device (null in tests): its buffer is virtual
        }
        if !keepsDevice { from = deviceWritten }
        var count = 0
        var pos = from
        while count < f.frames && pos < builtEnd {
            let known = pos >= historyFrom && pos < historyEnd
            f.source[count] = known ? f.history[pos & f.historyMask] : 0
            count += 1
            pos += 1
        }
        if count < f.frames {
            let ring = s.playbackRing
            let want = min(f.frames - count, max(0, mark - ring.readPosition))
            if want > 0 { count += ring.read(into: f.source + count, count: want) }
        }
        // The answer ran out within the fade (its end, or audio arriving late): its last sample
        // is held under the ramp, so the fade still ends at zero without a step.
        if count > 0 && count < f.frames {
            (f.source + count).update(repeating: f.source[count - 1], count: f.frames - count)
            count = f.frames
        }
        fadeCount = count
        fadePosition = 0
        // The history past `from` is what was taken back; the next period is built there.
        historyEnd = min(historyEnd, from)
        return keepsDevice
    }

    /// Called by fillPeriod once the period's answer audio is in `playbackMono` (before earcons
    /// and volume): mixes in the running fade, then remembers the period's answer audio.
    mutating func fadeAndRemember(period: Int) {
        let f = s.fade
        let mono = s.playbackMono
        if fadePosition < fadeCount {
            let k = min(period, fadeCount - fadePosition)
            let length = f.frames
            for i in 0..<k {
                let j = fadePosition + i
                // Gain (L-1-j)/L: the first sample is nearly the one that would have played,
                // the L-th is zero; each step of the ramp is 1/L of the signal.
                let v = Int(mono[i]) + Int(f.source[j]) * (length - 1 - j) / length
                mono[i] = Int16(clamping: v)
            }
            fadePosition += k
            pendingSilent = false
        }
        let pos = deviceWritten
        // Not where the kept stretch ends or inside it (a period built again after a rewind of
        // audio written ahead, AudioRTLoop+Ahead.swift): the stretch starts over here.
        if pos < historyFrom || pos > historyEnd { historyFrom = pos }
        let capacity = f.historyMask + 1
        let start = pos & f.historyMask
        let first = min(period, capacity - start)
        (f.history + start).update(from: mono, count: first)
        if first < period { f.history.update(from: mono + first, count: period - first) }
        historyEnd = max(historyEnd, pos + period)
        historyFrom = max(historyFrom, historyEnd - capacity)
    }
}
