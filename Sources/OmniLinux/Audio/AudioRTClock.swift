#if canImport(Glibc)
import Glibc
#endif

// The audio thread's clock: the time sources (also used by the monitor thread) and the loop's
// pacing step. Real-time safe: clock_gettime and clock_nanosleep only (AudioRTLoop.swift rules).

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

extension AudioLoop {
    /// Advances the loop's clock; sleeps to the next deadline when paced.
    mutating func pace(captured: Int) {
        if s.pacingSpeed > 0 {
            elapsedCaptureFrames += s.capturePeriod
            var deadline = startNanos + Int(Double(iteration) * periodNanos / s.pacingSpeed)
            let now = monotonicNanos()
            if now - deadline > 1_000_000_000 {
                // Far behind (stopped in a debugger, starved): restart the schedule, no burst.
                startNanos = now - Int(Double(iteration) * periodNanos / s.pacingSpeed)
                deadline = now
            }
            if deadline > now { sleepUntil(monotonicNanos: deadline) }
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
}
