import Dispatch
import OmniCore
import OmniLinux
import RealtimeProtocol

// The microphone's way to the session: the capture ring is drained every 20 ms; while the
// machine streams, the audio goes out in 100 ms chunks (what every official sample sends),
// otherwise it is discarded.

extension Daemon {
    func startCapturePump() {
        let t = DispatchSource.makeTimerSource(queue: loop.queue)
        t.schedule(deadline: .now(), repeating: .milliseconds(20), leeway: .milliseconds(2))
        t.setEventHandler { [unowned self] in self.pumpCapture(final: false) }
        t.resume()
        captureTimer = t
    }

    /// With `final`, also sends the last partial chunk (the turn's capture ends here).
    func pumpCapture(final: Bool) {
        guard capture.streaming else {
            audio.discardCaptured()
            return
        }
        capture.fill { audio.readCaptured(into: $0) }
        while let chunk = capture.takeChunk(final: final) { send(chunk) }
    }

    private func send(_ chunk: [Int16]) {
        let b64 = PCM16.base64(chunk)
        if capture.recording { recording.append(base64: b64) }
        session.withManager { $0.appendAudio(base64: b64) }
        cameraAudioSent()
    }
}

/// Collects captured 16 kHz audio into 100 ms chunks.
struct CapturePump {
    static let chunkSamples = 1600
    var streaming = false
    /// Keep a copy of what is sent, so the turn can be replayed after a lost link.
    var recording = false
    private var buffer = [Int16](repeating: 0, count: 4096)
    private var pending: [Int16] = []

    mutating func reset() { pending.removeAll(keepingCapacity: true) }

    mutating func fill(_ read: (UnsafeMutableBufferPointer<Int16>) -> Int) {
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { read($0) }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            if n < buffer.count { break }
        }
    }

    /// The next full chunk; with `final`, also the remainder.
    mutating func takeChunk(final: Bool) -> [Int16]? {
        if pending.count >= Self.chunkSamples {
            let chunk = Array(pending[0..<Self.chunkSamples])
            pending.removeFirst(Self.chunkSamples)
            return chunk
        }
        if final && !pending.isEmpty {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        return nil
    }
}
