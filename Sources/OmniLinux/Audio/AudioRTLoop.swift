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
//                                                        └─▶ echo reference ring (producer;
//                                                            AudioRTLoop+Reference.swift)
//
// RULES for everything reachable from `AudioLoop.run()` (the allocation probe test enforces
// the first one by counting malloc calls on this thread over thousands of periods):
//  1. No allocation: every buffer is allocated before the thread starts (`AudioStreamPlan`).
//  2. No locks of ours, no waiting on other threads: requests arrive through atomics in
//     `AudioShared`, results leave the same way. (alsa-lib takes its own per-PCM mutex inside
//     plugin PCMs; only this thread touches the handle, so it is never contended.)
//  3. No logging, no printing: alsa-lib's error lines are muted on this thread; faults are
//     stored in atomics and reported by the monitor thread, which the loop wakes with a
//     non-blocking eventfd write (the one system call it makes for others).
//  4. No reference-counted objects: the loop sees only `RTStreamPlan`, a plain struct of
//     pointers, and its own local state. No closures, no existentials, no Strings, no Arrays.
//  5. Blocking only where the audio clock is: snd_pcm_wait() on the capture device, or an
//     absolute-deadline sleep when paced by the clock (file backend, tests, benchmarks), which
//     may be a longer ppoll() on the kick eventfd while idle (coasting, AudioRTClock.swift).
//
// Clocking: the capture side is the loop's clock (one iteration per capture period). Playback
// is topped up each iteration with as many whole periods as the device has room for, so a
// playback device on a different crystal than the microphone just gets slightly more or fewer
// periods per iteration. A file (or an ALSA null device in tests) has no clock; then playback
// runs against a virtual device that plays in step with the loop's clock.
//
// Faults: EPIPE/ESTRPIPE (xrun, suspend) → snd_pcm_recover(), counted. Any other error
// (ENODEV / EBADFD when a USB device is unplugged) or a capture stall → the loop ends "lost";
// the monitor thread closes the devices and reopens them every second.
//
// The loop is split by step, each an extension of `AudioLoop` in its own file (same rules):
// AudioRTLoop+Capture (read one period), AudioRTClock (pacing), AudioRTLoop+Requests (flush,
// drain, earcon), AudioRTLoop+Playback (top up the device, report the drain), AudioRTLoop+Xrun
// (recovery), AudioRTLoop+Wake (waking the monitor through an eventfd when there is work for
// it). This file: the loop's state and the iteration itself.

/// The audio thread's entry point (pthread start routine argument: an `RTStreamPlan` pointer).
func audioThreadMain(_ plan: UnsafeMutablePointer<RTStreamPlan>) {
    omni_alsa_mute_errors_on_this_thread(1)
    if plan.pointee.lockStackBytes > 0 {
        omni_lock_stack(plan.pointee.lockStackBytes)
    } else {
        omni_prefault_stack(64 * 1024)
    }
    var loop = AudioLoop(plan.pointee)
    loop.run()
}

struct AudioLoop {
    let s: RTStreamPlan
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

    // Playback device bookkeeping (frames, this stream plan).
    var deviceWritten = 0
    var pendingOffset = 0
    var pendingFrames = 0
    /// The period in `playbackRaw` is all zeros (no answer audio, no earcon): a file sink
    /// leaves a hole instead of writing it.
    var pendingSilent = false
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
    /// When the loop last woke from a coast (AudioRTClock.swift); iterations due before it are
    /// caught up.
    var wokeAt = 0

    // The fade of the latest flush (AudioRTLoop+Fade.swift): `fadeCount` samples of
    // `RTFade.source`, `fadePosition` of them played; the answer audio of device positions
    // historyFrom..<historyEnd is in `RTFade.history`.
    var fadeCount = 0
    var fadePosition = 0
    var historyFrom = 0
    var historyEnd = 0

    // Writing a `file:` speaker ahead (AudioRTLoop+Ahead.swift): the device position up to
    // which the echo reference and the room have been fed; whether the latest coast was an
    // ahead coast; positions below `replayEnd` are built again from the fade history; the
    // volume the periods built so far have.
    var tapPosition = 0
    var aheadCoast = false
    var replayEnd = 0
    var builtGainQ16 = Int32(Gain.unityQ16)

    var lost = false

    init(_ plan: RTStreamPlan) {
        s = plan
        playout = Playout(prerollFrames: plan.prerollFrames)
        seenFlush = plan.seenFlushSerial
        seenDrain = plan.seenDrainSerial
        seenEarcon = plan.seenEarconSerial
        cancelDrainsUpTo = plan.cancelDrainsUpTo
        periodNanos = Double(plan.capturePeriod) * 1e9 / Double(plan.captureRate)
        builtGainQ16 = Int32(truncatingIfNeeded: plan.shared.pointee.gainQ16.load(ordering: .relaxed))
    }

    mutating func run() {
        let sh = s.shared
        sh.pointee.audioThreadID.store(Int(omni_gettid()), ordering: .relaxed)
        lastCPU = threadCPUNanos()
        startNanos = monotonicNanos()
        publishAheadPeriod()
        if case .alsa(let pcm) = s.capture {
            let err = snd_pcm_start(pcm)
            if err < 0 { lose(.capture, Int(err)) }
        }
        sh.pointee.streamState.store(AudioStreamState.running.rawValue, ordering: .releasing)

        while !lost && !sh.pointee.stop.load(ordering: .relaxed) {
            iteration += 1
            let got = captureOnePeriod()
            if lost { break }
            checkCaptureWake()
            pace(captured: got)
            if iterationPassedWhileAhead {
                // Its period was written ahead; what woke the loop acts in the present.
                tapBuilt()
            } else {
                applyRequests()
                if lost { break }
                servicePlayback()
                if lost { break }
                tapBuilt()
                checkPlaybackRoom()
                checkDrain()
            }
            sh.pointee.loopIterations.wrappingAdd(1, ordering: .relaxed)
            if iteration & 63 == 0 { accountCPU() }
        }
        accountCPU()
        sh.pointee.streamState.store((lost ? AudioStreamState.lost : AudioStreamState.stopped).rawValue,
                                     ordering: .releasing)
        // A loss is the monitor's to handle (close, report, reopen); a stop was its own request.
        if lost { wakeOwner() }
    }

    /// Ends the loop: the device is gone or broken; the monitor reads why from `AudioShared`.
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
}
