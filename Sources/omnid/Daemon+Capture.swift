import Dispatch
import OmniCore
import OmniLinux
import RealtimeProtocol

// The microphone's way to the session: while the machine streams, the audio goes out in
// 100 ms chunks (what every official sample sends). Nothing polls: the engine is asked to
// report `.captureReady` once the rest of the next chunk has been captured, and asked again
// after each read. While not streaming the engine keeps the ring to its newest audio by
// itself and the controller is not woken at all (CaptureInterest.idle).

extension Daemon {
    /// Tells the engine what the controller wants from the microphone now.
    func armCapture() {
        if capture.streaming {
            audio.setCaptureInterest(.wake(afterSamples: capture.samplesToNextChunk))
        } else {
            audio.setCaptureInterest(.idle)
        }
    }

    /// Reads what was captured and sends the full chunks; with `final`, also the last partial
    /// chunk (the turn's capture ends here).
    func pumpCapture(final: Bool) {
        guard capture.streaming else { return }
        // Through the echo canceller or the half-duplex gate (DaemonEcho.swift).
        echo.pump(audio) { capture.append($0) }
        while let chunk = capture.takeChunk(final: final) { send(chunk) }
        if !final { armCapture() }
    }

    private func send(_ chunk: [Int16]) {
        let b64 = PCM16.base64(chunk)
        if capture.recording { recording.append(base64: b64) }
        capture.remember(b64)
        // Held: the session is being replaced; `.replayTurn` sends the recording to the new one.
        if !capture.holding {
            session.withManager { $0.appendAudio(base64: b64) }
            cameraAudioSent()
        }
    }
}

/// Collects captured 16 kHz audio into 100 ms chunks.
struct CapturePump {
    static let chunkSamples = 1600
    var streaming = false
    /// Keep a copy of what is sent, so the turn can be replayed after a lost link.
    var recording = false
    /// Record but do not send (see ApplianceAction.holdCapture).
    var holding = false
    /// The last second of chunks sent: a hands-free utterance's recording starts with it (the
    /// service's VAD keeps 300 ms of audio before the onset it detects, and detects it late).
    private(set) var recent: [String] = []

    mutating func remember(_ chunk: String) {
        if recent.count >= 10 { recent.removeFirst() }
        recent.append(chunk)
    }
    private var pending: [Int16] = []

    mutating func reset() {
        pending.removeAll(keepingCapacity: true)
        holding = false
        recent.removeAll(keepingCapacity: true)
    }

    /// Samples still missing for the next full chunk.
    var samplesToNextChunk: Int { max(1, Self.chunkSamples - pending.count % Self.chunkSamples) }

    mutating func append(_ samples: UnsafeBufferPointer<Int16>) {
        pending.append(contentsOf: samples)
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
