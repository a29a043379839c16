#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniSystem
import Synchronization

// Opening and closing the devices: one `AudioStreamPlan` (devices, buffers, audio thread) at a
// time, built by start() and by the monitor's reopen, torn down by stop() and on device loss.
// Everything here runs with `control` held, off the audio thread.

/// The engine's lifecycle state, inside the `control` mutex.
struct EngineControl: ~Copyable {
    var running = false
    /// The open devices and the audio thread running on them; nil while the devices are lost.
    var plan: AudioStreamPlan?
    var monitor: PThread?
    /// The monitor's work on an event loop instead (Options.eventLoop).
    var loopMonitor: LoopMonitor?
    /// The engine's own audio memory (rings, shared atomics) is locked (MemoryLock.swift).
    var memoryLocked = false
    var locked = LockedRegions()
    var reopenPending = false
    var warnedPriority = false
    var lastOpenError: String?
    /// The first open failed in start(waitForDevice: true): the monitor reports it.
    var startupLoss: AudioEvent?
}

extension AudioEngine {
    /// Opens the devices, sets the converters to their rates and starts the audio thread.
    func startStreams(_ c: inout EngineControl) throws {
        let params = AudioStreamPlan.Parameters(
            config: config, alsaConfigFile: options.alsaConfigFile,
            pacingSpeed: { if case .clock(let speed) = options.pacing { return max(0.01, speed) }; return nil }(),
            lockMemory: c.memoryLocked,
            stallTimeoutNanos: Int(options.stallTimeout.wholeNanoseconds), wakeFD: wakeFD, kickFD: kickFD,
            echoReference: options.echoReference)
        let plan = try AudioStreamPlan(params, shared: shared, captureRing: captureRing, playbackRing: playbackRing) { cf, pf in
            sizeRings(&c, captureRate: cf.rate, playbackRate: pf.rate)
        }
        try configureConverters(capture: plan.captureFormat.rate, playback: plan.playbackFormat.rate,
                                reference: plan.referenceRing)
        // Requests from before this point belong to a previous plan (or none): skip them.
        // Taken under the playback mutex so no request is half-published.
        playbackSide.withLock { _ in
            plan.rt.pointee.seenFlushSerial = shared.pointee.flushSerial.load(ordering: .acquiring)
            plan.rt.pointee.seenDrainSerial = shared.pointee.drainSerial.load(ordering: .acquiring)
            plan.rt.pointee.seenEarconSerial = shared.pointee.earconRequest.load(ordering: .acquiring) >> 8
            plan.rt.pointee.cancelDrainsUpTo = shared.pointee.flushCancelsDrainsUpTo.load(ordering: .relaxed)
        }
        shared.pointee.stop.store(false, ordering: .relaxed)
        shared.pointee.streamState.store(AudioStreamState.idle.rawValue, ordering: .relaxed)
        shared.pointee.audioThreadID.store(0, ordering: .relaxed)
        if let warning = try plan.start(priority: config.rtPriority) {
            if !c.warnedPriority { logger.warning("\(warning)") }
            c.warnedPriority = true
        }
        c.plan = plan
        c.reopenPending = false
        shared.pointee.streamStarts.wrappingAdd(1, ordering: .releasing)
        let prio = plan.realtimePriority.map { "SCHED_FIFO \($0)" } ?? "normal priority"
        logger.info("audio capture \(plan.captureFormat); playback \(plan.playbackFormat); audio thread at \(prio)")
    }

    /// Stops the audio thread and closes the devices (no-op when none are open).
    func stopStreams(_ c: inout EngineControl) {
        guard let plan = c.plan else { return }
        shared.pointee.stop.store(true, ordering: .relaxed)
        kickAudioThread()
        plan.join()
        plan.close()
        c.plan = nil
        shared.pointee.stop.store(false, ordering: .relaxed)
        shared.pointee.streamState.store(AudioStreamState.idle.rawValue, ordering: .relaxed)
    }

    /// New converters for the device rates, and the plan's echo reference ring to read; rings
    /// and queues emptied (no audio thread runs).
    func configureConverters(capture captureRate: Int, playback playbackRate: Int, reference: SPSCRing?) throws {
        let quality = options.resamplerQuality
        // (Each ring's view is taken under its side's mutex: sizeRings changes it under that.)
        try captureSide.withLock { side in
            let cring = captureRing.view
            // The owner's interest outlives the devices (a reopen must not silence its wake-ups).
            let interest = side.interest
            side = CaptureSide(resampler: try makeResampler(from: captureRate, to: Self.captureOutputRate, quality: quality))
            side.interest = interest
            if let reference {
                let resampler = try makeResampler(from: playbackRate, to: Self.captureOutputRate, quality: quality)
                side.reference = ReferenceReader(owner: reference, resampler: resampler)
                reference.view.discardAll()
            }
            cring.discardAll()
            armCaptureWake(side, cring)
        }
        try playbackSide.withLock { side in
            let pring = playbackRing.view
            side = PlaybackSide(resampler: try makeResampler(from: Self.playbackInputRate, to: playbackRate, quality: quality))
            pring.discardAll()
            armPlaybackRoom(side, pring)
        }
    }

    /// After the audio thread is gone: drop queued audio in both directions.
    func discardQueues() {
        captureSide.withLock { side in
            let cring = captureRing.view
            cring.discardAll()
            side.carry = 0
            side.resampler.reset()
            side.reference?.keepNewest(frames: 0)
            armCaptureWake(side, cring)
        }
        playbackSide.withLock { side in
            let pring = playbackRing.view
            pring.discardAll()
            side.clearPending()
            side.resampler.reset()
            armPlaybackRoom(side, pring)
        }
    }

    /// Which device an open error is about (for the .deviceLost event).
    func direction(of error: any Error) -> AudioDirection {
        if let e = error as? AudioDeviceError, e.device == config.playback, e.device != config.capture { return .playback }
        return .capture
    }
}
