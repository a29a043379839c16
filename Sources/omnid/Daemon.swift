import Dispatch
import Logging
import OmniCore
import OmniLinux
import RealtimeProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Startup failures that are the configuration's fault (exit 78, no restart loop).
struct StartupConfigError: Error, CustomStringConvertible {
    var description: String
}

/// The running appliance: config, session, audio, button, LEDs, control socket, signals, systemd.
/// Everything mutable lives on the controller loop (`loop.queue`); other threads only post.
final class Daemon: @unchecked Sendable {
    private let loop = ControllerLoop()
    private let logger: Logger
    private let configPath: String
    private var config: OmniConfig
    private var board: BoardIOConfig

    private var session: SessionRuntime!
    private var machine: ApplianceMachine
    private var timers: ApplianceTimerDriver!
    private var leds: LEDDriver!
    private var audio: AudioEngine!
    private var button: (any ApplianceButtonInput)?
    private var control: ControlServer?
    private var capture = CapturePump()
    private var recording = ApplianceTurnRecording()
    private var restartSessionWhenStopped = false

    private var signalSources: [DispatchSourceSignal] = []
    private var stopping = false
    private let notifier = SystemdNotifier(environment: Files.environment())
    private var toldReady = false
    private var audioReady = false
    private var sessionReadyOnce = false
    private var watchdogTimer: DispatchSourceTimer?
    private var captureTimer: DispatchSourceTimer?

    init(config: OmniConfig, configPath: String, logger: Logger) throws {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        do {
            board = try BoardIOConfig.parse(config.board)
        } catch {
            throw StartupConfigError(description: "\(error)")
        }
        machine = ApplianceMachine(settings: ApplianceSettings(config: config, board: board))
    }

    // MARK: Start and stop

    func start() throws {
        logger.info("omnid \(OmnidVersion.string) starting; service \(config.service.effectiveURL), model \(config.service.model), mode \(config.session.mode.rawValue), board \(config.board.name ?? config.board.file ?? "none")")
        do {
            leds = try LEDDriver.make(config: board.leds, backend: LibgpiodBackend())
        } catch {
            throw StartupConfigError(description: "\(error.configError)")
        }
        timers = ApplianceTimerDriver(queue: loop.queue) { [unowned self] t in self.feed(.timer(t)) }
        session = SessionRuntime(request: config.connectRequest, session: config.sessionUpdate,
                                 settings: config.sessionSettings, loop: loop, logger: Logger(label: "omnid.session"))
        audio = makeAudioEngine(config.audio)
        do {
            button = try ApplianceButtons.start(board.button) { [loop] g in
                loop.post { [unowned self] in self.feed(.button(g.event)) }
            }
            let control = try ControlServer(path: config.control.socket, gestures: board.button.gestures,
                                            onButton: { [loop] g in loop.post { [unowned self] in self.feed(.button(g.event)) } },
                                            status: { [loop] reply in loop.post { [unowned self] in reply(self.status()) } })
            try control.start()
            self.control = control
        } catch let e as ConfigError {
            throw StartupConfigError(description: "\(e)")
        } catch {
            throw StartupConfigError(description: "control socket \(config.control.socket): \(error)")
        }
        loop.post {
            self.leds.show(self.machine.state)
            self.session.setEventHandler { [unowned self] in self.sessionEvent($0) }
            self.startCapturePump()
            self.startWatchdog()
        }
        try audio.start(waitForDevice: true)
        loop.post {
            // A first open that succeeds at once is not reported as an event.
            if self.audio.status.devicesOpen {
                self.audioReady = true
                self.checkReady()
            }
        }
        session.start()
        installSignals()
        // Offline but running still counts as started: systemd must not wait forever for a
        // network that may never come.
        loop.queue.asyncAfter(deadline: .now() + .seconds(15)) { self.tellReady("offline: waiting for the service") }
    }

    private func makeAudioEngine(_ audioConfig: OmniConfig.Audio) -> AudioEngine {
        AudioEngine(config: audioConfig, options: Self.audioTestOptions(), logger: Logger(label: "omnid.audio")) { [loop] event in
            loop.post { [unowned self] in self.audioEvent(event) }
        }
    }

    /// Test hooks (README, "Testing"): OMNID_ALSA_CONFIG merges an ALSA config file (file/null
    /// plugin devices); OMNID_AUDIO_PACING=clock paces such clock-less devices in real time.
    static func audioTestOptions() -> AudioEngine.Options {
        var o = AudioEngine.Options()
        let env = Files.environment()
        if let f = env["OMNID_ALSA_CONFIG"], !f.isEmpty { o.alsaConfigFile = f }
        if env["OMNID_AUDIO_PACING"] == "clock" { o.pacing = .clock(speed: 1) }
        return o
    }

    private func installSignals() {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: loop.queue)
            src.setEventHandler { [unowned self] in
                if sig == SIGHUP { self.reload() } else { self.shutdown() }
            }
            src.resume()
            signalSources.append(src)
        }
    }

    private func shutdown() {
        guard !stopping else { return }
        stopping = true
        logger.info("stopping")
        notifier.stopping()
        captureTimer?.cancel()
        timers.cancelAll()
        control?.stop()
        button?.shutdown()
        session.stop { [self] in
            audio.stop()
            leds.close()
            exit(0)
        }
    }

    // MARK: systemd

    /// READY=1 once: when devices are open and the first session is configured, or when the
    /// offline grace period ends.
    private func tellReady(_ status: String) {
        guard !toldReady else { return }
        toldReady = true
        notifier.ready(status: status)
    }

    private func checkReady() {
        if audioReady && sessionReadyOnce { tellReady("ready") }
    }

    /// WATCHDOG=1 from the controller loop itself, so a wedged controller gets restarted.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let t = DispatchSource.makeTimerSource(queue: loop.queue)
        let ms = Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
        t.schedule(deadline: .now(), repeating: .milliseconds(max(ms, 100)))
        t.setEventHandler { [notifier] in notifier.watchdog() }
        t.resume()
        watchdogTimer = t
    }

    // MARK: The appliance

    /// One step of the state machine, then its actions.
    private func feed(_ event: ApplianceEvent) {
        let before = machine.state
        let actions = machine.handle(event, at: loop.clock.now())
        perform(actions, for: event)
        if machine.state != before { notifier.status("\(machine.state)") }
    }

    private func perform(_ actions: [ApplianceAction], for event: ApplianceEvent) {
        timers.apply(actions)
        for action in actions {
            switch action {
            case .startStreaming(let record):
                answerStarted = false
                firstSampleBaseline = nil
                audio.discardCaptured()
                capture.reset()
                capture.streaming = true
                if record { recording.start() }
                capture.recording = record
            case .stopStreaming:
                // Send what was captured up to now, so the last word is not cut.
                pumpCapture(final: true)
                capture.streaming = false
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
                let chunks = recording.chunks
                logger.info("replaying the interrupted turn (\(chunks.count) chunks)")
                session.withManager { m in for c in chunks { m.appendAudio(base64: c) } }
            case .playAudioDelta:
                if case .server(.audioDelta) = event, let delta = pendingDelta,
                   let samples = PCM16.samples(fromBase64: delta) {
                    if !answerStarted && firstSampleBaseline == nil {
                        firstSampleBaseline = audio.counters.answerFramesPlayed
                        watchFirstSample()
                    }
                    audio.enqueuePlayback(samples24k: samples)
                }
            case .flushPlayback:
                audio.flush()
                answerStarted = false
                firstSampleBaseline = nil
            case .endOfAnswer:
                audio.endOfAnswer()
                answerStarted = false
            case .earcon(let e):
                if config.audio.earcons, let kind = e.audioEarcon { audio.playEarcon(kind) }
            case .setLEDs(let state):
                leds.show(state)
            case .logTranscript(let role, let text):
                logger.info("\(role.rawValue): \(text)")
            case .logNotice(let text):
                logger.info("\(text)")
            case .startTimer, .cancelTimer:
                break  // done by `timers.apply`
            case .reconnect:
                reconnectSession()
            }
        }
    }

    /// The Base64 payload of the audio delta being handled (decoded only if the machine plays it).
    private var pendingDelta: String?

    // The engine counts answer frames handed to ALSA; the first increase after an answer's
    // first delta is "first sample to ALSA" (status latency first delta → first sample).
    private var firstSampleBaseline: Int?
    private var answerStarted = false

    /// Polls every 2 ms while an answer's first sample is pending (at most the pre-roll).
    private func watchFirstSample() {
        guard let baseline = firstSampleBaseline else { return }
        if audio.counters.answerFramesPlayed > baseline {
            firstSampleBaseline = nil
            answerStarted = true
            feed(.playbackStarted)
            return
        }
        loop.queue.asyncAfter(deadline: .now() + .milliseconds(2)) { [weak self] in self?.watchFirstSample() }
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

    private func sessionEvent(_ event: SessionEvent) {
        switch event {
        case .stateChanged(let s):
            logger.info("session: \(s)")
            if s == .disconnected && restartSessionWhenStopped && !stopping {
                restartSessionWhenStopped = false
                loop.post { self.session.withManager { $0.start() } }
            }
        case .ready:
            logger.info("session ready")
            sessionReadyOnce = true
            checkReady()
        case .serverError(let code, let message, let type, let recoverable):
            logger.warning("service error type=\(type ?? "-") code=\(code ?? "-"): \(message)\(recoverable ? "" : " (fatal)")")
        case .linkLost(let reason):
            logger.warning("link lost: \(reason)")
        case .droppedAudio(let total):
            logger.warning("link slower than real time: \(total) audio frames dropped so far")
        case .server(let e):
            logger.trace("event \(e.type)")
        }
        guard let ae = ApplianceEvent(event) else { return }
        if case .server(let e) = event, case .audioDelta(_, let delta) = e.body { pendingDelta = delta }
        feed(ae)
        pendingDelta = nil
    }

    private func audioEvent(_ event: AudioEvent) {
        switch event {
        case .deviceLost(let direction, let reason):
            logger.error("audio \(direction) device lost: \(reason); retrying every second")
            feed(.audioDeviceLost)
        case .deviceBack(let capture, let playback):
            logger.info("audio devices open: capture \(capture), playback \(playback)")
            audioReady = true
            checkReady()
            feed(.audioDeviceBack)
        case .playbackDrained:
            feed(.playbackDrained)
        case .xrun(let direction, let total):
            logger.warning("audio \(direction) xrun recovered (\(total) so far)")
        case .underrun(let total):
            logger.warning("playback underrun mid-answer: silence played (\(total) so far)")
        }
    }

    // MARK: Capture → session

    /// Drains the capture ring every 20 ms; while streaming, sends 100 ms chunks (what every
    /// official sample sends), otherwise discards.
    private func startCapturePump() {
        let t = DispatchSource.makeTimerSource(queue: loop.queue)
        t.schedule(deadline: .now(), repeating: .milliseconds(20), leeway: .milliseconds(2))
        t.setEventHandler { [unowned self] in self.pumpCapture(final: false) }
        t.resume()
        captureTimer = t
    }

    private func pumpCapture(final: Bool) {
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
    }

    // MARK: Status and reload

    private func status() -> ApplianceStatus {
        let (phase, reconnects, dropped) = session.withManager { m in
            (m.state.phase.rawValue, m.counters.reconnects, m.counters.droppedAudioFrames)
        }
        let c = audio.counters
        return machine.status(connection: phase, reconnects: reconnects, droppedFrames: dropped,
                              xruns: c.xruns, underruns: c.underruns)
    }

    /// SIGHUP: re-read the config; voice/instructions go out as session.update without
    /// reconnecting, changed devices are reopened. An invalid file keeps the running config.
    private func reload() {
        notifier.reloading()
        defer { notifier.status("\(machine.state)") }
        do {
            let loaded = try ConfigLoader.load(path: configPath, env: Files.configEnvironment())
            _ = try BoardIOConfig.parse(loaded.config.board)
            for w in loaded.warnings { logger.warning("\(w)") }
            let old = config
            config = loaded.config
            session.withManager { m in
                if old.connectRequest != config.connectRequest { m.updateRequest(config.connectRequest) }
                if old.sessionUpdate != config.sessionUpdate { m.updateSession(config.sessionUpdate) }
            }
            if old.audio != config.audio {
                logger.info("audio settings changed: reopening the devices")
                audio.stop()
                audio = makeAudioEngine(config.audio)
                do { try audio.start(waitForDevice: true) } catch { logger.error("audio: \(error)") }
            }
            if old.session.mode != config.session.mode || old.board != config.board {
                logger.warning("mode and board changes take effect at the next restart")
            }
            logger.info("configuration reloaded from \(configPath)")
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }
}

/// Collects captured 16 kHz audio into 100 ms chunks.
struct CapturePump {
    static let chunkSamples = 1600
    var streaming = false
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
