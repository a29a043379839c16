import OmniCore

// The engine's playback side, as the controller sees it: answer audio at the service's rate
// (24 kHz mono) converted on the calling thread and queued for the audio thread, the end of
// an answer (drain), barge-in (flush), earcons and volume. Everything that touches the
// playback ring's producer side does so under `playbackSide`'s mutex, shared with the monitor
// thread's pump (AudioEngine+Monitor.swift); the audio thread, the ring's consumer, never
// takes it and learns of requests through the atomics in `AudioShared`.
//
// ThreadSanitizer reports an "access race" on `playbackSide` between these methods and the
// monitor's pumpPlayback(). It is a false report: see AudioPlaybackSide.swift and
// TSAN_PLAYBACKSIDE.md at the top of the repository.

extension AudioEngine {
    /// Queues answer audio (24 kHz mono). Never drops: what does not fit the ring waits in a
    /// queue the monitor thread moves on as the ring drains.
    public func enqueuePlayback(samples24k: UnsafeBufferPointer<Int16>) {
        playbackSide.withLock { side in
            let ring = playbackRing.view
            side.converted.removeAll(keepingCapacity: true)
            side.resampler.convert(samples24k, appendingTo: &side.converted)
            side.push(side.converted, into: ring)
            armPlaybackRoom(side, ring)
        }
        // Not while the loop sleeps on answer audio written ahead: it takes this when it wakes
        // to write on, before the device runs out (AudioRTLoop+Ahead.swift).
        if !shared.pointee.aheadCoasting.load(ordering: .acquiring) { kickAudioThread() }
    }

    public func enqueuePlayback(samples24k: [Int16]) {
        samples24k.withUnsafeBufferPointer { enqueuePlayback(samples24k: $0) }
    }

    /// The answer is complete: play everything queued, then report .playbackDrained.
    public func endOfAnswer() {
        playbackSide.withLock { side in
            let ring = playbackRing.view
            side.converted.removeAll(keepingCapacity: true)
            side.resampler.finish(into: &side.converted)
            side.push(side.converted, into: ring)
            armPlaybackRoom(side, ring)
            let mark = ring.writePosition + side.pendingCount
            shared.pointee.drainMark.store(mark, ordering: .relaxed)
            shared.pointee.drainSerial.wrappingAdd(1, ordering: .releasing)
        }
        kickAudioThread()
        // No audio thread to play it out (devices lost or not open yet): the monitor completes
        // the drain. A loss after this check wakes the monitor itself.
        if shared.pointee.streamState.load(ordering: .acquiring) != AudioStreamState.running.rawValue {
            wakeMonitor()
        }
    }

    /// Barge-in: silence within one period plus a 10 ms fade-out (AudioRTLoop+Fade.swift).
    /// Discards queued answer audio and the device buffer, cancels a pending drain. Earcons
    /// keep playing.
    public func flush() {
        playbackSide.withLock { side in
            let ring = playbackRing.view
            side.clearPending()
            side.resampler.reset()
            armPlaybackRoom(side, ring)
            shared.pointee.flushMark.store(ring.writePosition, ordering: .relaxed)
            shared.pointee.flushCancelsDrainsUpTo.store(shared.pointee.drainSerial.load(ordering: .relaxed),
                                                        ordering: .relaxed)
            let (iteration, frame) = flushRequestPoint()
            shared.pointee.flushRequestedAtIteration.store(iteration, ordering: .relaxed)
            shared.pointee.flushRequestedAtFrame.store(frame, ordering: .relaxed)
            shared.pointee.flushSerial.wrappingAdd(1, ordering: .releasing)
        }
        kickAudioThread()
    }

    /// Where the speaker is when a flush is asked for: the audio thread's iterations so far and
    /// the device's write position. With write-ahead (a `file:` speaker) it is where the
    /// per-period loop would be by now: what the file holds written ahead does not count (it is
    /// taken back, AudioRTLoop+Ahead.swift), and the loop may be asleep on it, so the position
    /// it published at its last iteration's deadline is carried on by the periods since.
    /// (Taking the last published position as it is made a flush asked for a period after it
    /// look a period late.)
    func flushRequestPoint() -> (iteration: Int, frame: Int) {
        let sh = shared
        let written = sh.pointee.playbackFramesWritten.load(ordering: .relaxed)
        for _ in 0..<8 {
            let serial = sh.pointee.aheadAnchorSerial.load(ordering: .sequentiallyConsistent)
            if serial & 1 != 0 { continue }
            let anchor = sh.pointee.aheadAnchorNanos.load(ordering: .sequentiallyConsistent)
            let anchorIteration = sh.pointee.aheadAnchorIteration.load(ordering: .sequentiallyConsistent)
            let anchorFrames = sh.pointee.aheadAnchorFrames.load(ordering: .sequentiallyConsistent)
            let interval = sh.pointee.aheadIntervalNanos.load(ordering: .sequentiallyConsistent)
            let period = sh.pointee.aheadPeriodFrames.load(ordering: .sequentiallyConsistent)
            guard sh.pointee.aheadAnchorSerial.load(ordering: .sequentiallyConsistent) == serial else { continue }
            guard anchor > 0, interval > 0 else { break }
            let periods = max(0, (monotonicNanos() - anchor) / interval)
            return (anchorIteration + periods, min(written, anchorFrames + periods * period))
        }
        return (sh.pointee.loopIterations.load(ordering: .relaxed),
                written - sh.pointee.playbackAheadFrames.load(ordering: .relaxed))
    }

    /// Arms a one-shot `.answerStarted(generation:)` for the next answer frame the audio thread
    /// plays; returns the generation that event will carry (a later call supersedes it).
    public func watchAnswerStart() -> Int {
        playbackSide.withLock { _ in
            let generation = shared.pointee.answerStartArmed.load(ordering: .relaxed) + 1
            shared.pointee.answerStartArmed.store(generation, ordering: .releasing)
            return generation
        }
    }

    /// Playback mutex held: asks the audio thread for a wake-up once the ring has room for the
    /// answer audio waiting outside it (or a quarter of the ring, so a long answer moves in a
    /// few large steps rather than every period). Int.max when nothing waits.
    func armPlaybackRoom(_ side: borrowing PlaybackSide, _ ring: SPSCRingView) {
        let pending = side.pendingCount
        var at = Int.max
        if pending > 0 {
            // room = capacity - (write - read) ≥ need  ⇔  read ≥ write - capacity + need
            at = ring.writePosition - ring.capacity + min(pending, ring.capacity / 4)
        }
        shared.pointee.playbackRoomPosition.store(at, ordering: .releasing)
    }

    /// Plays an earcon over whatever is playing (no-op when earcons are off in the config; the
    /// ready sound follows `ready_sound` instead, see ReadySoundCue).
    public func playEarcon(_ kind: EarconKind) {
        guard kind == .ready ? config.readySound != .off : config.earcons else { return }
        playbackSide.withLock { _ in
            let serial = (shared.pointee.earconRequest.load(ordering: .relaxed) >> 8) + 1
            shared.pointee.earconRequest.store(serial << 8 | kind.rawValue, ordering: .releasing)
        }
        kickAudioThread()
    }

    /// Software output volume (linear, 0…4; 1 = unity), effective from the next period.
    public func setVolume(_ linear: Double) {
        shared.pointee.gainQ16.store(Int(Gain(linear: linear).q16), ordering: .relaxed)
        kickAudioThread()  // a `file:` speaker written ahead is rebuilt at the new volume
    }

    public var volume: Double {
        Gain(q16: Int32(truncatingIfNeeded: shared.pointee.gainQ16.load(ordering: .relaxed))).linear
    }

    /// Answer audio queued but not yet handed to the device, in milliseconds.
    public var queuedPlaybackMs: Int {
        let (pending, rate, inRing) = playbackSide.withLock { side in
            let ring = playbackRing.view
            return (side.pendingCount, side.rate, ring.writePosition - ring.readPosition)
        }
        return (inRing + pending) * 1000 / max(1, rate)
    }
}
