#if canImport(Glibc)
import Glibc
#endif
import CALSA
import Synchronization

// Audio thread, fault handling: an xrun or suspend (EPIPE / ESTRPIPE) is recovered in place
// with snd_pcm_recover() and counted for the monitor to report; any other error, or a failed
// recovery, ends the loop as "lost" (the monitor then closes and reopens the devices).
// The RULES in AudioRTLoop.swift hold here.

@inline(__always) func isXrun(_ code: Int) -> Bool {
    code == -Int(EPIPE) || code == -Int(ESTRPIPE)
}

extension AudioLoop {
    /// A failed capture read: recover, count and restart an xrun; anything else loses the device.
    mutating func recoverCapture(_ pcm: OpaquePointer, _ code: Int) {
        guard isXrun(code) else {
            lose(.capture, code)
            return
        }
        let rec = snd_pcm_recover(pcm, Int32(code), 1)
        if rec < 0 {
            lose(.capture, Int(rec))
            return
        }
        s.shared.pointee.captureXruns.wrappingAdd(1, ordering: .relaxed)
        wakeOwner()
        _ = snd_pcm_start(pcm)
    }

    /// EPIPE/ESTRPIPE: recover and count; anything else: the device is lost.
    mutating func recoverPlayback(_ pcm: OpaquePointer, _ code: Int) -> Bool {
        guard isXrun(code) else {
            lose(.playback, code)
            return false
        }
        let rec = snd_pcm_recover(pcm, Int32(code), 1)
        if rec < 0 {
            lose(.playback, Int(rec))
            return false
        }
        s.shared.pointee.playbackXruns.wrappingAdd(1, ordering: .relaxed)
        wakeOwner()
        return true
    }
}
