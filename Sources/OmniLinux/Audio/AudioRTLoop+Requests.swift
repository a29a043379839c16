#if canImport(Glibc)
import Glibc
#endif
import CALSA
import OmniCore
import Synchronization

// Audio thread, requests step: acts on what the controller published in `AudioShared` since
// the last iteration — flush (barge-in), end of answer (drain mark), earcon. Each request is a
// serial bumped with release ordering after its payload was stored; the loop acquires it.
// The RULES in AudioRTLoop.swift hold here.

extension AudioLoop {
    mutating func applyRequests() {
        let sh = s.shared
        let flush = sh.pointee.flushSerial.load(ordering: .acquiring)
        if flush != seenFlush {
            seenFlush = flush
            cancelDrainsUpTo = sh.pointee.flushCancelsDrainsUpTo.load(ordering: .relaxed)
            let mark = sh.pointee.flushMark.load(ordering: .relaxed)
            // A fade-out instead of a cut (AudioRTLoop+Fade.swift); it reads the ring up to the mark.
            let keepsDevice = startFade(flushMark: mark)
            s.playbackRing.skip(to: mark)
            playout.flush()
            answerEndSerial = 0
            pendingDrainSerial = 0
            pendingFrames = 0
            pendingOffset = 0
            if case .alsa(let pcm) = s.playback, !keepsDevice {
                _ = snd_pcm_drop(pcm)
                let err = snd_pcm_prepare(pcm)
                if err < 0 {
                    lose(.playback, Int(err))
                    return
                }
            }
            virtualPlayed = deviceWritten
            let latency = sh.pointee.loopIterations.load(ordering: .relaxed)
                - sh.pointee.flushRequestedAtIteration.load(ordering: .relaxed)
            sh.pointee.lastFlushLatencyPeriods.store(latency, ordering: .relaxed)
            sh.pointee.flushesApplied.wrappingAdd(1, ordering: .relaxed)
        }

        let drain = sh.pointee.drainSerial.load(ordering: .acquiring)
        if drain != seenDrain {
            seenDrain = drain
            if drain > cancelDrainsUpTo {
                answerEndSerial = drain
                playout.endOfAnswer(at: sh.pointee.drainMark.load(ordering: .relaxed))
            }
        }

        let earcon = sh.pointee.earconRequest.load(ordering: .acquiring)
        if earcon >> 8 != seenEarcon {
            seenEarcon = earcon >> 8
            let kind = earcon & 0xff
            if kind < EarconKind.count {
                let slot = s.earcons[kind]
                if let samples = slot.samples, slot.count > 0 {
                    earconSamples = samples
                    earconCount = slot.count
                    earconPosition = 0
                    sh.pointee.earconsPlayed.wrappingAdd(1, ordering: .relaxed)
                    rebuildAhead()  // from the next period, as without write-ahead
                }
            }
        }

        if Int32(truncatingIfNeeded: sh.pointee.gainQ16.load(ordering: .relaxed)) != builtGainQ16 {
            rebuildAhead()  // a new volume from the next period (AudioRTLoop+Ahead.swift)
        }
    }
}
