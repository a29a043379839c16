#if canImport(Glibc)
import Glibc
#endif
import CALSA
import OmniCore
import Synchronization

// Audio thread, capture step: one period from the device, downmixed, into the capture ring.
// The RULES in AudioRTLoop.swift hold here.

extension AudioLoop {
    /// Reads up to one period into the capture ring; returns frames read.
    mutating func captureOnePeriod() -> Int {
        let sh = s.shared
        var got = 0
        switch s.capture {
        case .alsa(let pcm):
            var r: Int
            let injected = sh.pointee.injectCaptureError.exchange(0, ordering: .relaxed)
            if injected != 0 {
                r = injected
            } else {
                let w = snd_pcm_wait(pcm, s.waitTimeoutMs)
                if w < 0 {
                    r = Int(w)
                } else if w == 0 {
                    stalledNanos += Int(s.waitTimeoutMs) * 1_000_000
                    if stalledNanos >= s.stallTimeoutNanos { lose(.capture, -Int(ETIMEDOUT)) }
                    return 0
                } else {
                    r = snd_pcm_readi(pcm, s.captureRaw, snd_pcm_uframes_t(s.capturePeriod))
                }
            }
            if r == -Int(EAGAIN) || r == -Int(EINTR) { r = 0 }
            if r < 0 {
                recoverCapture(pcm, r)
                return 0
            }
            got = r
            stalledNanos = 0
        case .file(let state):
            got = FileCaptureSource.read(state, into: s.captureRaw, frames: s.capturePeriod)
        }
        guard got > 0 else { return 0 }
        sh.pointee.capturedFrames.wrappingAdd(got, ordering: .relaxed)
        // Caught up after a coast, but "captured" before the consumer discarded: dropped (the
        // simulated room still hears it: its microphone clock runs on).
        let dropped = captureReadBeforeDiscard
        if dropped && s.room == nil { return got }
        PCM.downmixToMono(s.captureRaw, format: s.captureFormat, channels: s.captureChannels, frames: got,
                          into: s.captureMono)
        addRoomEcho(frames: got)
        if dropped { return got }
        let pushed = s.captureRing.write(s.captureMono, count: got)
        if pushed < got { sh.pointee.captureOverflowFrames.wrappingAdd(got - pushed, ordering: .relaxed) }
        noteCaptureTime()
        return got
    }
}
