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
        let ring = playbackRing.view
        playbackSide.withLock { side in
            side.converted.removeAll(keepingCapacity: true)
            side.resampler.convert(samples24k, appendingTo: &side.converted)
            side.push(side.converted, into: ring)
        }
    }

    public func enqueuePlayback(samples24k: [Int16]) {
        samples24k.withUnsafeBufferPointer { enqueuePlayback(samples24k: $0) }
    }

    /// The answer is complete: play everything queued, then report .playbackDrained.
    public func endOfAnswer() {
        let ring = playbackRing.view
        playbackSide.withLock { side in
            side.converted.removeAll(keepingCapacity: true)
            side.resampler.finish(into: &side.converted)
            side.push(side.converted, into: ring)
            let mark = ring.writePosition + side.pendingCount
            shared.pointee.drainMark.store(mark, ordering: .relaxed)
            shared.pointee.drainSerial.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// Barge-in: silence within one period. Discards queued answer audio and the device
    /// buffer, cancels a pending drain. Earcons keep playing.
    public func flush() {
        let ring = playbackRing.view
        playbackSide.withLock { side in
            side.clearPending()
            side.resampler.reset()
            shared.pointee.flushMark.store(ring.writePosition, ordering: .relaxed)
            shared.pointee.flushCancelsDrainsUpTo.store(shared.pointee.drainSerial.load(ordering: .relaxed),
                                                        ordering: .relaxed)
            shared.pointee.flushRequestedAtIteration.store(shared.pointee.loopIterations.load(ordering: .relaxed),
                                                           ordering: .relaxed)
            shared.pointee.flushSerial.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// Plays an earcon over whatever is playing (no-op when earcons are off in the config).
    public func playEarcon(_ kind: EarconKind) {
        guard config.earcons else { return }
        playbackSide.withLock { _ in
            let serial = (shared.pointee.earconRequest.load(ordering: .relaxed) >> 8) + 1
            shared.pointee.earconRequest.store(serial << 8 | kind.rawValue, ordering: .releasing)
        }
    }

    /// Software output volume (linear, 0…4; 1 = unity), effective from the next period.
    public func setVolume(_ linear: Double) {
        shared.pointee.gainQ16.store(Int(Gain(linear: linear).q16), ordering: .relaxed)
    }

    public var volume: Double {
        Gain(q16: Int32(truncatingIfNeeded: shared.pointee.gainQ16.load(ordering: .relaxed))).linear
    }

    /// Answer audio queued but not yet handed to the device, in milliseconds.
    public var queuedPlaybackMs: Int {
        let ring = playbackRing.view
        let (pending, rate) = playbackSide.withLock { ($0.pendingCount, $0.rate) }
        let inRing = ring.writePosition - ring.readPosition
        return (inRing + pending) * 1000 / max(1, rate)
    }
}
