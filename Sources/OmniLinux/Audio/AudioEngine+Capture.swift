import OmniCore

// The engine's capture side, as the controller sees it: captured audio at the service's rate
// (16 kHz mono), converted on the calling thread under `captureSide`'s mutex (the capture
// ring's only consumer; the audio thread is its producer and never takes the mutex). Whoever
// reads says when it wants to be told there is audio (`setCaptureInterest`), so nothing has
// to poll the ring on a timer.

extension AudioEngine {
    /// Moves captured audio, converted to 16 kHz mono, into `buffer`; returns samples written.
    public func readCaptured(into buffer: UnsafeMutableBufferPointer<Int16>) -> Int {
        let ring = captureRing.view
        return captureSide.withLock { $0.read(from: ring, into: buffer) }
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
        let ring = captureRing.view
        let becameLive = captureSide.withLock { side -> Bool in
            side.interest = interest
            armCaptureWake(side, ring)
            var live = false
            if case .wake = interest { live = true }
            // Stored whichever way it goes (a `live && !exchange` never cleared it, so after the
            // first turn the loop could not coast again: 50 wake-ups/s instead of 5 when idle).
            let wasLive = shared.pointee.captureLive.exchange(live, ordering: .releasing)
            return live && !wasLive
        }
        // A consumer waiting for audio wants it period by period, not in catch-up bursts.
        if becameLive { kickAudioThread() }
    }

    /// Publishes the side's wake position to the audio thread (capture mutex held).
    func armCaptureWake(_ side: borrowing CaptureSide, _ ring: SPSCRingView) {
        let at = side.wakePosition(ring: ring, outputRate: Self.captureOutputRate)
        shared.pointee.captureWakePosition.store(at, ordering: .releasing)
    }

    /// Monitor thread, after the audio thread fired a capture wake-up: trims the ring when
    /// nobody wants its audio, else tells the owner there is audio (`.captureReady`).
    func handleCaptureWake() {
        let ring = captureRing.view
        let ready = captureSide.withLock { side -> Bool in
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
