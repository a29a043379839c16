#if canImport(Glibc)
import Glibc
#endif
import CALSA
import OmniCore
import Synchronization

// Audio thread, playback step: tops the device up with whole periods built from the playback
// ring (playout plan, earcon, volume, upmix), then reports the drain once the device has
// played an answer's last frame. The RULES in AudioRTLoop.swift hold here.

extension AudioLoop {
    mutating func servicePlayback() {
        let sh = s.shared
        var avail: Int
        switch s.playback {
        case .alsa(let pcm):
            let injected = sh.pointee.injectPlaybackError.exchange(0, ordering: .relaxed)
            avail = injected != 0 ? injected : snd_pcm_avail(pcm)
            if avail == -Int(EAGAIN) || avail == -Int(EINTR) { avail = 0 }
            if avail < 0 {
                guard recoverPlayback(pcm, avail) else { return }
                avail = snd_pcm_avail(pcm)
                if avail < 0 {
                    lose(.playback, avail)
                    return
                }
            }
            if s.virtualPlayback { avail = min(avail, virtualPlayed + s.playbackBuffer - deviceWritten) }
        case .file:
            // Past the one-period buffer while the rest of the answer is known (AudioRTLoop+Ahead).
            avail = normalWriteEnd + (mayWriteAhead ? s.writeAheadFrames : 0) - deviceWritten
        }

        let maxPeriods = (s.playbackBuffer + s.writeAheadFrames) / s.playbackPeriod + 1
        var periods = 0
        var retries = 0
        let frameBytes = s.playbackChannels * s.playbackFormat.bytesPerSample
        while periods < maxPeriods {
            if pendingFrames == 0 {
                if avail < s.playbackPeriod || !aheadPeriodReady { break }
                fillPeriod()
                pendingFrames = s.playbackPeriod
                pendingOffset = 0
            }
            let n = min(pendingFrames, avail)
            if n <= 0 { break }
            let source = UnsafeRawPointer(s.playbackRaw + pendingOffset * frameBytes)
            var w: Int
            switch s.playback {
            case .alsa(let pcm):
                w = snd_pcm_writei(pcm, source, snd_pcm_uframes_t(n))
                if w == -Int(EAGAIN) || w == -Int(EINTR) { return }
                if w < 0 {
                    retries += 1
                    guard retries <= 2, recoverPlayback(pcm, w) else {
                        if !lost { lose(.playback, w) }
                        return
                    }
                    avail = max(0, snd_pcm_avail(pcm))
                    continue
                }
            case .file(let state):
                w = FilePlaybackSink.write(state, source, frames: n, silent: pendingSilent)
            }
            pendingOffset += w
            pendingFrames -= w
            deviceWritten += w
            avail -= w
            sh.pointee.playbackFramesWritten.wrappingAdd(w, ordering: .relaxed)
            if pendingFrames == 0 { periods += 1 }
        }
    }

    /// Builds the next device period in `playbackRaw`.
    mutating func fillPeriod() {
        let period = s.playbackPeriod
        defer {
            // The echo reference and the room (AudioRTLoop+Reference.swift): now, or at the
            // period's own time when the device is written ahead (AudioRTLoop+Ahead.swift).
            if s.writeAheadFrames > 0 { rememberForTap(period: period) } else { tapPlayedPeriod() }
        }
        let sh = s.shared
        let gain = Int32(truncatingIfNeeded: sh.pointee.gainQ16.load(ordering: .relaxed))
        builtGainQ16 = gain
        if playbackSlotPassed {
            // Its time went by during a coast: it played silence (AudioRTClock.swift).
            s.playbackMono.update(repeating: 0, count: period)
            pendingSilent = true
            PCM.upmixFromMono(s.playbackMono, frames: period, format: s.playbackFormat, channels: s.playbackChannels,
                              into: s.playbackRaw)
            return
        }
        var n = period
        if deviceWritten < replayEnd {
            // Built again after a rewind (AudioRTLoop+Ahead.swift): already planned and counted.
            replayedAnswer(period: period)
        } else {
            let ring = s.playbackRing
            let plan = playout.plan(readPosition: ring.readPosition, available: ring.availableToRead(),
                                    periodFrames: period, deviceWritePosition: deviceWritten)
            n = ring.read(into: s.playbackMono, count: plan.take)
            if n < period { (s.playbackMono + n).update(repeating: 0, count: period - n) }
            if n > 0 {
                sh.pointee.answerFramesPlayed.wrappingAdd(n, ordering: .relaxed)
                noteAnswerFramesPlayed()
            }
            if plan.underrun {
                sh.pointee.underruns.wrappingAdd(1, ordering: .relaxed)
                wakeOwner()
            }
            if plan.answerEnded { pendingDrainSerial = answerEndSerial }
        }

        pendingSilent = n == 0 && earconSamples == nil
        fadeAndRemember(period: period)  // a flush's fade-out (AudioRTLoop+Fade.swift)
        if let earcon = earconSamples {
            let k = min(period, earconCount - earconPosition)
            PCM.mix(earcon + earconPosition, into: s.playbackMono, count: k)
            earconPosition += k
            if earconPosition >= earconCount { earconSamples = nil }
        }
        PCM.applyGain(Gain(q16: gain), to: s.playbackMono, count: period)
        PCM.upmixFromMono(s.playbackMono, frames: period, format: s.playbackFormat, channels: s.playbackChannels,
                          into: s.playbackRaw)
    }

    /// Reports a finished drain once the device has played the answer's last frame.
    mutating func checkDrain() {
        guard playout.hasPendingDrain else { return }
        var delay = 0
        if case .alsa(let pcm) = s.playback {
            var d: snd_pcm_sframes_t = 0
            if snd_pcm_delay(pcm, &d) >= 0 { delay = max(0, d) }
        }
        if s.virtualPlayback { delay = max(delay, deviceWritten - virtualPlayed) }
        if playout.drainCompleted(devicePlayedPosition: deviceWritten - delay), pendingDrainSerial != 0 {
            s.shared.pointee.drainedSerial.store(pendingDrainSerial, ordering: .releasing)
            wakeOwner()
        }
    }
}
