#if canImport(Glibc)
import Glibc
#endif
import CALSA
import CALSAShim
import CSystemShim
import OmniCore
import Synchronization

// THE AUDIO THREAD. One loop moves audio between the devices and the two rings:
//
//   capture device ──read one period──▶ downmix to mono ──▶ capture ring   (producer)
//   playback ring ──playout plan──▶ + earcon ─▶ × volume ─▶ upmix ──▶ playback device (consumer)
//
// RULES for everything reachable from `AudioLoop.run()` (the allocation probe test enforces
// the first one by counting malloc calls on this thread over thousands of periods):
//  1. No allocation: every buffer is allocated before the thread starts (`AudioSession`).
//  2. No locks of ours, no waiting on other threads: requests arrive through atomics in
//     `AudioShared`, results leave the same way. (alsa-lib takes its own per-PCM mutex inside
//     plugin PCMs; only this thread touches the handle, so it is never contended.)
//  3. No logging, no printing: alsa-lib's error lines are muted on this thread; faults are
//     stored in atomics and reported by the monitor thread.
//  4. No reference-counted objects: the loop sees only `RTSession`, a plain struct of
//     pointers, and its own local state. No closures, no existentials, no Strings, no Arrays.
//  5. Blocking only where the audio clock is: snd_pcm_wait() on the capture device, or an
//     absolute-deadline sleep when paced by the clock (file backend, tests, benchmarks).
//
// Clocking: the capture side is the loop's clock (one iteration per capture period). Playback
// is topped up each iteration with as many whole periods as the device has room for, so a
// playback device on a different crystal than the microphone just gets slightly more or fewer
// periods per iteration. A file (or an ALSA null device in tests) has no clock; then playback
// runs against a virtual device that plays in step with the loop's clock.
//
// Faults: EPIPE/ESTRPIPE (xrun, suspend) → snd_pcm_recover(), counted. Any other error
// (ENODEV / EBADFD when a USB device is unplugged) or a capture stall → the session ends
// "lost"; the monitor thread closes the devices and reopens them every second.

/// Shared between the audio thread and the rest of the engine: atomics only, allocated once per
/// engine. Requests flow in (controller → audio thread), results and counters flow out.
struct AudioShared: ~Copyable {
    // Requests.
    let stop = Atomic<Bool>(false)
    let flushSerial = Atomic<Int>(0)
    let flushMark = Atomic<Int>(0)
    let flushCancelsDrainsUpTo = Atomic<Int>(0)
    /// `loopIterations` when the latest flush was requested (to measure how fast it applied).
    let flushRequestedAtIteration = Atomic<Int>(0)
    let drainSerial = Atomic<Int>(0)
    let drainMark = Atomic<Int>(0)
    /// (serial << 8) | EarconKind.rawValue
    let earconRequest = Atomic<Int>(0)
    let gainQ16 = Atomic<Int>(Int(Gain.unityQ16))
    /// Test hooks: a negative errno the next capture read / playback avail returns instead.
    let injectCaptureError = Atomic<Int>(0)
    let injectPlaybackError = Atomic<Int>(0)

    // Results.
    let sessionState = Atomic<Int>(SessionState.idle.rawValue)
    let lostError = Atomic<Int>(0)
    let lostDirection = Atomic<Int>(0)
    let drainedSerial = Atomic<Int>(0)
    let audioThreadID = Atomic<Int>(0)

    // Counters (cumulative over the engine's life).
    let capturedFrames = Atomic<Int>(0)
    let captureOverflowFrames = Atomic<Int>(0)
    let playbackFramesWritten = Atomic<Int>(0)
    let answerFramesPlayed = Atomic<Int>(0)
    let captureXruns = Atomic<Int>(0)
    let playbackXruns = Atomic<Int>(0)
    let underruns = Atomic<Int>(0)
    let flushesApplied = Atomic<Int>(0)
    /// Audio-thread periods between the latest flush request and its application (0 or 1).
    let lastFlushLatencyPeriods = Atomic<Int>(0)
    let earconsPlayed = Atomic<Int>(0)
    let loopIterations = Atomic<Int>(0)
    let audioThreadCPUNanos = Atomic<Int>(0)
    // Maintained by the monitor thread.
    let deviceLosses = Atomic<Int>(0)
    let reopenings = Atomic<Int>(0)
    let reopenAttempts = Atomic<Int>(0)

    init() {}
}

enum SessionState: Int {
    case idle = 0
    case running = 1
    case stopped = 2
    case lost = 3
}

enum RTCaptureDevice {
    case alsa(OpaquePointer)
    case file(UnsafeMutablePointer<FileCaptureState>)
}

enum RTPlaybackDevice {
    case alsa(OpaquePointer)
    case file(UnsafeMutablePointer<FilePlaybackState>)
}

struct EarconSlot {
    var samples: UnsafePointer<Int16>?
    var count: Int
}

/// Everything one device session's audio thread needs: plain values and pointers.
struct RTSession {
    var shared: UnsafeMutablePointer<AudioShared>
    var captureRing: SPSCRingView
    var playbackRing: SPSCRingView

    var capture: RTCaptureDevice
    var captureFormat: DeviceSampleFormat
    var captureChannels: Int
    var capturePeriod: Int
    var captureRate: Int

    var playback: RTPlaybackDevice
    var playbackFormat: DeviceSampleFormat
    var playbackChannels: Int
    var playbackPeriod: Int
    var playbackBuffer: Int
    var playbackRate: Int

    var captureRaw: UnsafeMutableRawPointer
    var captureMono: UnsafeMutablePointer<Int16>
    var playbackMono: UnsafeMutablePointer<Int16>
    var playbackRaw: UnsafeMutableRawPointer
    var earcons: UnsafeMutablePointer<EarconSlot>

    var prerollFrames: Int
    /// > 0: sleep each iteration to a deadline, at this multiple of real time.
    var pacingSpeed: Double
    /// Playback timing from the loop's clock instead of the device (file, null).
    var virtualPlayback: Bool
    var waitTimeoutMs: Int32
    var stallTimeoutNanos: Int

    /// Request serials already seen when the session was created (off the audio thread):
    /// anything requested later — even before the thread first runs — is acted on.
    var seenFlushSerial = 0
    var seenDrainSerial = 0
    var seenEarconSerial = 0
    var cancelDrainsUpTo = 0
}

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

@inline(__always) func isXrun(_ code: Int) -> Bool {
    code == -Int(EPIPE) || code == -Int(ESTRPIPE)
}

/// The audio thread's entry point (pthread start routine argument: an `RTSession` pointer).
func audioThreadMain(_ session: UnsafeMutablePointer<RTSession>) {
    omni_alsa_mute_errors_on_this_thread(1)
    omni_name_current_thread("omni-audio")
    omni_prefault_stack(64 * 1024)
    var loop = AudioLoop(session.pointee)
    loop.run()
}

struct AudioLoop {
    let s: RTSession
    var playout: Playout

    // Requests already acted on.
    var seenFlush: Int
    var seenDrain: Int
    var seenEarcon: Int
    var cancelDrainsUpTo: Int
    /// endOfAnswer() serial whose mark is the playout's current answer end.
    var answerEndSerial = 0
    /// Serial to report once the device has played up to the playout's pending drain point.
    var pendingDrainSerial = 0

    // Earcon being mixed.
    var earconSamples: UnsafePointer<Int16>?
    var earconCount = 0
    var earconPosition = 0

    // Playback device bookkeeping (frames, this session).
    var deviceWritten = 0
    var pendingOffset = 0
    var pendingFrames = 0
    var virtualPlayed = 0
    var lastVirtualClock = 0

    // Clock.
    var iteration = 0
    var elapsedCaptureFrames = 0
    var startNanos = 0
    var periodNanos: Double
    var stalledNanos = 0
    var zeroReads = 0
    var lastCPU = 0

    var lost = false

    init(_ session: RTSession) {
        s = session
        playout = Playout(prerollFrames: session.prerollFrames)
        seenFlush = session.seenFlushSerial
        seenDrain = session.seenDrainSerial
        seenEarcon = session.seenEarconSerial
        cancelDrainsUpTo = session.cancelDrainsUpTo
        periodNanos = Double(session.capturePeriod) * 1e9 / Double(session.captureRate)
    }

    mutating func run() {
        let sh = s.shared
        sh.pointee.audioThreadID.store(Int(omni_gettid()), ordering: .relaxed)
        lastCPU = threadCPUNanos()
        startNanos = monotonicNanos()
        if case .alsa(let pcm) = s.capture {
            let err = snd_pcm_start(pcm)
            if err < 0 { lose(.capture, Int(err)) }
        }
        sh.pointee.sessionState.store(SessionState.running.rawValue, ordering: .releasing)

        while !lost && !sh.pointee.stop.load(ordering: .relaxed) {
            iteration += 1
            let got = captureOnePeriod()
            if lost { break }
            pace(captured: got)
            applyRequests()
            if lost { break }
            servicePlayback()
            if lost { break }
            checkDrain()
            sh.pointee.loopIterations.wrappingAdd(1, ordering: .relaxed)
            if iteration & 63 == 0 { accountCPU() }
        }
        accountCPU()
        sh.pointee.sessionState.store((lost ? SessionState.lost : SessionState.stopped).rawValue, ordering: .releasing)
    }

    mutating func lose(_ direction: AudioDirection, _ code: Int) {
        s.shared.pointee.lostError.store(code, ordering: .relaxed)
        s.shared.pointee.lostDirection.store(direction == .capture ? 1 : 2, ordering: .relaxed)
        lost = true
    }

    mutating func accountCPU() {
        let now = threadCPUNanos()
        s.shared.pointee.audioThreadCPUNanos.wrappingAdd(now - lastCPU, ordering: .relaxed)
        lastCPU = now
    }

    // MARK: capture

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
                if isXrun(r) {
                    let rec = snd_pcm_recover(pcm, Int32(r), 1)
                    if rec < 0 {
                        lose(.capture, Int(rec))
                        return 0
                    }
                    sh.pointee.captureXruns.wrappingAdd(1, ordering: .relaxed)
                    _ = snd_pcm_start(pcm)
                    return 0
                }
                lose(.capture, r)
                return 0
            }
            got = r
            stalledNanos = 0
        case .file(let state):
            got = FileCaptureSource.read(state, into: s.captureRaw, frames: s.capturePeriod)
        }
        guard got > 0 else { return 0 }
        PCM.downmixToMono(s.captureRaw, format: s.captureFormat, channels: s.captureChannels, frames: got,
                          into: s.captureMono)
        let pushed = s.captureRing.write(s.captureMono, count: got)
        if pushed < got { sh.pointee.captureOverflowFrames.wrappingAdd(got - pushed, ordering: .relaxed) }
        sh.pointee.capturedFrames.wrappingAdd(got, ordering: .relaxed)
        return got
    }

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

    // MARK: requests

    mutating func applyRequests() {
        let sh = s.shared
        let flush = sh.pointee.flushSerial.load(ordering: .acquiring)
        if flush != seenFlush {
            seenFlush = flush
            cancelDrainsUpTo = sh.pointee.flushCancelsDrainsUpTo.load(ordering: .relaxed)
            s.playbackRing.skip(to: sh.pointee.flushMark.load(ordering: .relaxed))
            playout.flush()
            answerEndSerial = 0
            pendingDrainSerial = 0
            pendingFrames = 0
            pendingOffset = 0
            if case .alsa(let pcm) = s.playback {
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
                }
            }
        }
    }

    // MARK: playback

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
            avail = virtualPlayed + s.playbackBuffer - deviceWritten
        }

        let maxPeriods = s.playbackBuffer / s.playbackPeriod + 1
        var periods = 0
        var retries = 0
        let frameBytes = s.playbackChannels * s.playbackFormat.bytesPerSample
        while periods < maxPeriods {
            if pendingFrames == 0 {
                if avail < s.playbackPeriod { break }
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
                w = FilePlaybackSink.write(state, source, frames: n)
            }
            pendingOffset += w
            pendingFrames -= w
            deviceWritten += w
            avail -= w
            sh.pointee.playbackFramesWritten.wrappingAdd(w, ordering: .relaxed)
            if pendingFrames == 0 { periods += 1 }
        }
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
        return true
    }

    /// Builds the next device period in `playbackRaw`.
    mutating func fillPeriod() {
        let sh = s.shared
        let period = s.playbackPeriod
        let ring = s.playbackRing
        let plan = playout.plan(readPosition: ring.readPosition, available: ring.availableToRead(),
                                periodFrames: period, deviceWritePosition: deviceWritten)
        let n = ring.read(into: s.playbackMono, count: plan.take)
        if n < period { (s.playbackMono + n).update(repeating: 0, count: period - n) }
        if n > 0 { sh.pointee.answerFramesPlayed.wrappingAdd(n, ordering: .relaxed) }
        if plan.underrun { sh.pointee.underruns.wrappingAdd(1, ordering: .relaxed) }
        if plan.answerEnded { pendingDrainSerial = answerEndSerial }

        if let earcon = earconSamples {
            let k = min(period, earconCount - earconPosition)
            PCM.mix(earcon + earconPosition, into: s.playbackMono, count: k)
            earconPosition += k
            if earconPosition >= earconCount { earconSamples = nil }
        }
        PCM.applyGain(Gain(q16: Int32(truncatingIfNeeded: sh.pointee.gainQ16.load(ordering: .relaxed))),
                      to: s.playbackMono, count: period)
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
        }
    }
}
