import OmniCore
import OmniLinux
import RealtimeProtocol

// The microphone's way to the session: while the machine streams, the audio goes out in
// 100 ms chunks (what every official sample sends). Nothing polls: the engine is asked to
// report `.captureReady` once the rest of the next batch of chunks has been captured, and asked
// again after each read. In `vad` mode a batch is one chunk: the service's VAD hears the
// microphone as it happens. With a button the service does nothing with the audio before the
// commit, so a batch is three chunks (300 ms, the same 100 ms messages sent together): the
// controller and a clock-paced audio thread wake a third as often while the user speaks, and
// the release still sends the rest at once (at most 300 ms of audio, then the commit). While
// not streaming the engine keeps the ring to its newest audio by itself and the controller is
// not woken at all (CaptureInterest.idle).
//
// The end of streaming (release): the last partial chunk goes out, then whatever the machine
// asked for after it (the commit, `response.create`). A clock-paced audio thread coasts
// between chunks (AudioRTClock.swift), so its ring may lag the microphone by up to a chunk;
// the engine is asked to catch up first, and the rest of the step's actions, the events that
// come meanwhile and what the link reports meanwhile (kept from the session manager too, so
// that it sees the commit before them, as without the wait) wait for its `.captureReady`
// (well under a millisecond: one wake-up of the audio thread). `CaptureStop` is that wait.

extension Daemon {
    /// Tells the engine what the controller wants from the microphone now.
    func armCapture() {
        if capture.streaming {
            audio.setCaptureInterest(.wake(afterSamples: capture.samplesToNextWake))
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

    /// `.stopStreaming`: the last of the capture goes out now, or once the audio thread has
    /// caught up with the microphone.
    func endStreaming() {
        guard capture.streaming, let catchUp = audio.catchUpCapture() else { return finishStreaming() }
        captureStop = .catchingUp(catchUp, rest: [], from: machine.state)
        session.holdIntake()
        loop.after(Self.catchUpTimeout) { [weak self] in
            guard let self, case .catchingUp(let c, _, _) = self.captureStop, c == catchUp else { return }
            self.logger.warning("audio thread did not catch up within \(Self.catchUpTimeout); sending what was captured")
            self.resumeActions()
        }
    }

    /// How long the end of a turn waits for the audio thread at most (a safety net: it answers
    /// within a wake-up, or stops and says so).
    static let catchUpTimeout = Duration.milliseconds(200)

    /// The last of the capture goes out; with a catch-up, only up to where the audio of the
    /// release ends (the loop may have read on since, if this thread was slow to get here).
    private func finishStreaming(upTo end: Int? = nil) {
        if let end { audio.limitCapture(to: end) }
        pumpCapture(final: true)
        if end != nil { audio.limitCapture(to: nil) }
        capture.streaming = false
        armCapture()
    }

    /// The engine's `.captureReady`: the next chunk, or the catch-up the end of streaming waits for.
    func captureReady() {
        if case .catchingUp = captureStop {
            endStreamingIfCaughtUp()
        } else {
            pumpCapture(final: false)
        }
    }

    /// Ends the wait for the audio thread once it has caught up (or stopped).
    func endStreamingIfCaughtUp() {
        guard case .catchingUp(let catchUp, _, _) = captureStop else { return }
        if audio.captureCaughtUp(catchUp.token) {
            resumeActions()
        } else {
            pumpCapture(final: false)  // a chunk that was under way
        }
    }

    /// Sends the end of the capture, then carries out the actions that waited for it and the
    /// events queued meanwhile. Also before the engine is replaced (reload).
    func resumeActions() {
        guard case .catchingUp(let catchUp, let rest, let before) = captureStop else { return }
        captureStop = .none
        finishStreaming(upTo: catchUp.end)
        carryOut(rest, from: before)
        session.releaseIntake()
        drainEvents()
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
    /// Chunks read and sent per wake-up while the button is held (see the top of this file).
    static let buttonChunksPerWake = 3
    var streaming = false
    /// How many chunks the controller waits for before it reads (1 in `vad` mode).
    var chunksPerWake = 1
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

    /// Samples still missing for the next batch of full chunks.
    var samplesToNextWake: Int { max(1, chunksPerWake * Self.chunkSamples - pending.count) }

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

/// The end of a turn's capture (`.stopStreaming`) while the audio thread catches up with the
/// microphone: the actions that came after it in the same step wait here, and the events that
/// come meanwhile wait in the daemon's event queue.
enum CaptureStop {
    case none
    /// The catch-up asked of the engine; `rest`: the step's actions still to carry out;
    /// `from`: the machine's state before that step.
    case catchingUp(CaptureCatchUp, rest: ArraySlice<ApplianceAction>, from: ApplianceState)

    var holdsActions: Bool {
        if case .catchingUp = self { return true }
        return false
    }

    /// Keeps the rest of the step (carryOut, right after the action that started the wait).
    mutating func hold(_ rest: ArraySlice<ApplianceAction>, from before: ApplianceState) {
        guard case .catchingUp(let catchUp, _, _) = self else { return }
        self = .catchingUp(catchUp, rest: rest, from: before)
    }
}
