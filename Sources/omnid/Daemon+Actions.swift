import OmniCore
import OmniLinux
import RealtimeProtocol

// Carrying out the state machine's actions: each one on the session manager, the audio engine,
// the LEDs, the timers or the log. Each action carries what it needs; whatever it makes happen
// comes back as an event and waits its turn (see `Daemon.feed`).

extension Daemon {
    /// A new echo canceller in hands-free mode learns the room from the ready sound as soon as
    /// the microphone is streamed through it (ReadySoundCue) from open devices: a request made
    /// before the streams start would be skipped by them, so with a device still missing it
    /// waits for `.deviceBack`.
    func playReadySoundIfDue() {
        guard echo.takeReadySound(streaming: capture.streaming && audio.status.devicesOpen) else { return }
        logger.info("ready sound (\(Int(ReadySound.durationMs)) ms): the echo canceller learns the room from it")
        audio.playEarcon(.ready)
    }

    func perform(_ action: ApplianceAction) {
        if action.wantsServiceReplySoon { releaseReceiving() }
        switch action {
        case .startStreaming(let record):
            answerStarted = false
            firstSampleWatch = nil
            // A button turn starts with the last lookback_ms before the press (the ring keeps
            // the newest audio while idle); hands-free streaming starts from now.
            let lookback = config.session.mode == .vad ? 0 : config.audio.lookbackMs
            audio.discardCaptured(keepingNewestMs: lookback)
            echo.restart()
            if lookback > 0 {
                logger.debug("look-back \(lookback) ms; the press is at microphone frame \(audio.captureClockFrames)")
            }
            capture.reset()
            capture.streaming = true
            capture.chunksPerWake = config.session.mode == .vad ? 1 : CapturePump.buttonChunksPerWake
            if record { recording.start() }
            capture.recording = record
            armCapture()
            playReadySoundIfDue()
        case .stopStreaming:
            // Send what was captured up to now, so the last word is not cut (Daemon+Capture.swift).
            endStreaming()
        case .holdCapture:
            capture.holding = true
        case .recordUtterance(let on):
            if on { recording.start(preroll: capture.recent) }
            capture.recording = on
        case .commit:
            session.withManager { $0.commit() }
            machine.noteCommitSent(at: loop.clock.now())
        case .createResponse:
            session.withManager { $0.createResponse() }
        case .cancelResponse:
            session.withManager { $0.cancelResponse() }
        case .clearInputBuffer:
            session.withManager { $0.clearInputBuffer() }
        case .replayTurn:
            pumpCapture(final: false)  // what the hold kept in the ring belongs to the recording too
            logger.info("sending the turn's audio to the new session (\(recording.chunks.count) chunks)")
            capture.holding = false
            session.withManager { $0.resendTurn(recording.chunks) }
        case .playAudioDelta(let base64):
            play(base64)
            paceReceiving()
        case .flushPlayback:
            audio.flush()
            answerStarted = false
            firstSampleWatch = nil
        case .endOfAnswer:
            audio.endOfAnswer()
            answerStarted = false
        case .earcon(let e):
            if config.audio.earcons, let kind = e.audioEarcon { audio.playEarcon(kind) }
        case .setLEDs(let state):
            leds.show(state)
        case .flashLEDs(let state):
            flashLEDs(state)
        case .logTranscript(let role, let text):
            // What the user said is theirs: debug only, so it reaches the journal (and its
            // persistent storage) only when someone turns debug logging on. The answer is info.
            if role == .user {
                logger.debug("\(role.rawValue): \(text)")
            } else {
                logger.info("\(role.rawValue): \(text)")
            }
        case .logNotice(let text):
            logger.info("\(text)")
        case .startTimer(let t, let after):
            timers.start(t, after: after)
        case .cancelTimer(let kind):
            timers.cancel(kind)
        case .reconnect:
            reconnectSession()
        }
    }

    /// Queues an answer delta for playback, and asks the engine to report its first sample if it
    /// is the answer's first. A delta that is not Base64 PCM never gets here: the session drops,
    /// counts and logs it (SessionManager.acceptAudioDelta, the same check), so nothing is
    /// counted twice.
    private func play(_ base64: String) {
        guard let samples = PCM16.samples(fromBase64: base64) else { return }
        if !answerStarted && firstSampleWatch == nil {
            firstSampleWatch = audio.watchAnswerStart()
        }
        audio.enqueuePlayback(samples24k: samples)
    }

    /// The engine played the first frame of the answer being watched.
    func answerStartedPlaying(generation: Int) {
        guard let watched = firstSampleWatch, watched == generation else { return }
        firstSampleWatch = nil
        answerStarted = true
        feed(.playbackStarted)
    }

    /// A failed turn: the state's pattern for a moment, then whatever the machine shows by then.
    private func flashLEDs(_ state: ApplianceState) {
        ledFlash += 1
        let generation = ledFlash
        leds.show(state)
        loop.after(.milliseconds(1500)) { [weak self] in
            guard let self, self.ledFlash == generation else { return }
            self.leds.show(self.machine.state)
        }
    }

    private func reconnectSession() {
        session.withManager { m in
            switch m.state {
            case .waitingToReconnect, .authFailed:
                m.reconnectNow()
            case .disconnected:
                m.start()
            default:
                logger.info("reconnecting at the user's request")
                restartSessionWhenStopped = true
                m.stop()
            }
        }
    }
}

extension ApplianceEarcon {
    /// The generated tone for each earcon (mute/unmute/ready have none yet).
    var audioEarcon: EarconKind? {
        switch self {
        case .listen: .listeningStart
        case .send, .cancel: .listeningEnd
        case .error: .error
        case .mute, .unmute, .ready: nil
        }
    }
}
