import OmniCore

// The engine's capture side, as the controller sees it: captured audio at the service's rate
// (16 kHz mono), converted on the calling thread under `captureSide`'s mutex (the capture
// ring's only consumer; the audio thread is its producer and never takes the mutex).

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
    public func discardCaptured() {
        let ring = captureRing.view
        captureSide.withLock { side in
            ring.discardAll()
            side.carry = 0
            side.resampler.reset()
        }
    }
}
