import OmniCore

// The engine's capture side, as the controller sees it: captured audio at the service's rate
// (16 kHz mono), converted on the calling thread under `captureSide`'s mutex (the capture
// ring's only consumer; the audio thread is its producer and never takes the mutex). Whoever
// reads says when it wants to be told there is audio (`setCaptureInterest`), so nothing has
// to poll the ring on a timer.

extension AudioEngine {
    /// Moves captured audio, converted to 16 kHz mono, into `buffer`; returns samples written.
    public func readCaptured(into buffer: UnsafeMutableBufferPointer<Int16>) -> Int {
        captureSide.withLock { $0.read(from: captureRing.view, into: buffer) }
    }

    /// All captured audio available now, converted to 16 kHz mono.
    public func readCaptured() -> [Int16] {
        var out: [Int16] = []
        var chunk = [Int16](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { readCaptured(into: $0) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Drops captured audio not read yet (e.g. when listening starts, to skip stale audio).
    /// The echo reference is dropped with it (AudioEngine+Reference.swift).
    public func discardCaptured() {
        discardCaptured(keepingNewestMs: 0)
    }

    /// Says when the audio thread should wake the owner for captured audio (see
    /// CaptureInterest). `.wake` is one-shot: the owner sets it again after each read.
    public func setCaptureInterest(_ interest: CaptureInterest) {
        captureSide.withLock { side in
            let ring = captureRing.view
            side.interest = interest
            var live = false
            if case .wake = interest { live = true }
            // Stored whichever way it goes (a `live && !exchange` never cleared it, so after the
            // first turn the loop could not coast again: 50 wake-ups/s instead of 5 when idle).
            shared.pointee.captureLive.store(live, ordering: .releasing)
            armCaptureWake(side, ring)
        }
    }

    /// Publishes the side's wake position to the audio thread (capture mutex held). A position
    /// a coasting clock-paced loop would pass before waking kicks it (AudioRTClock.swift): the
    /// store and the horizon's load are sequentially consistent, like the loop's own, so either
    /// the loop sees the position before it sleeps or this sees its horizon.
    func armCaptureWake(_ side: borrowing CaptureSide, _ ring: SPSCRingView) {
        let at = side.wakePosition(ring: ring, outputRate: Self.captureOutputRate)
        if at != Int.max, case .wake = side.interest {
            // The owner's next request is about as far again, and at least a chunk (100 ms).
            let frames = max(at - ring.readPosition, side.resampler.inputRate / 10)
            shared.pointee.captureCoastLimit.store(at + frames, ordering: .releasing)
        }
        shared.pointee.captureWakePosition.store(at, ordering: .sequentiallyConsistent)
        if at != Int.max && at <= shared.pointee.coastHorizon.load(ordering: .sequentiallyConsistent) {
            kickAudioThread()
        }
    }

    /// Has the audio thread read everything the microphone delivered up to now? While a
    /// clock-paced loop coasts the ring lags real time by up to a chunk; before the end of a
    /// turn is read (its last partial chunk, then the commit) it must catch up. Returns nil when
    /// the ring is current; else the catch-up: the loop has been kicked, and a `.captureReady`
    /// follows once it has caught up (`captureCaughtUp(token)` is then true). Its `end` is
    /// where the microphone's audio of this moment ends in the ring: what the loop reads later
    /// was captured after it (`limitCapture(to:)` keeps the turn's end there).
    public func catchUpCapture() -> CaptureCatchUp? {
        let now = monotonicNanos()
        let token = shared.pointee.catchUpRequested.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
        let sh = shared
        var due = sh.pointee.coastDueFrom.load(ordering: .sequentiallyConsistent)
        var end = 0
        while due <= now {
            // One coast's values (a coast that began meanwhile has a later coastDueFrom).
            let base = sh.pointee.coastBase.load(ordering: .relaxed)
            let interval = max(1, sh.pointee.coastInterval.load(ordering: .relaxed))
            let frames = sh.pointee.coastPeriodFrames.load(ordering: .relaxed)
            let again = sh.pointee.coastDueFrom.load(ordering: .sequentiallyConsistent)
            if again == due {
                end = base + ((now - due) / interval + 1) * frames
                break
            }
            due = again
        }
        guard due <= now, sh.pointee.streamState.load(ordering: .acquiring) == AudioStreamState.running.rawValue else { return nil }
        kickAudioThread()
        return CaptureCatchUp(token: token, end: end)
    }

    /// Reads stop at ring position `end` until it is lifted (nil) or the next discard: the end
    /// of a turn whose last audio the loop caught up with later (`catchUpCapture`).
    public func limitCapture(to end: Int?) {
        captureSide.withLock { $0.readLimit = end }
    }

    /// Whether the catch-up `token` is done (or can no longer happen: the audio thread stopped).
    public func captureCaughtUp(_ token: Int) -> Bool {
        shared.pointee.catchUpDone.load(ordering: .acquiring) &- token >= 0
            || shared.pointee.streamState.load(ordering: .acquiring) != AudioStreamState.running.rawValue
    }

    /// Monitor thread, after the audio thread fired a capture wake-up: trims the ring when
    /// nobody wants its audio, else tells the owner there is audio (`.captureReady`).
    func handleCaptureWake() {
        let ready = captureSide.withLock { side -> Bool in
            let ring = captureRing.view
            switch side.interest {
            case .polled:
                return false
            case .idle:
                side.trim(ring: ring)
                armCaptureWake(side, ring)
                return false
            case .wake:
                return true
            }
        }
        if ready { onEvent(.captureReady) }
    }
}
