import Dispatch
import Logging
import OmniCore
import OmniLinux
import RealtimeProtocol

/// The running appliance's behaviour: it feeds the state machine what the parts report and
/// carries out what the machine asks for. The parts are built in DaemonParts.swift before the
/// daemon exists; this file turns their reports into the machine's events, one at a time.
/// Next to it: the actions (Daemon+Actions.swift), capture to the session (Daemon+Capture.swift),
/// start, stop, reload and systemd (Daemon+Lifecycle.swift).
final class Daemon: @unchecked Sendable {
    // @unchecked: everything mutable is touched on the controller loop only;
    // other threads reach the daemon through the inbox, which hops onto the loop.

    // MARK: Parts

    let loop: ControllerLoop
    let inbox: DaemonInbox
    let notifier: SystemdNotifier
    let leds: LEDDriver
    let timers: ApplianceTimerDriver
    let session: SessionHost
    let button: (any ApplianceButtonInput)?
    let control: ControlServer
    /// nil without a camera (Daemon+Camera.swift).
    let camera: DaemonCamera?
    /// Replaced when a reload changes the audio settings.
    var audio: AudioEngine

    let logger: Logger
    let configPath: String
    var config: OmniConfig

    // MARK: The appliance

    var machine: ApplianceMachine
    /// Events waiting for the machine while another event's actions run (see `feed`).
    var events = ApplianceEventQueue()
    /// Session events → machine events; knows when connecting is only a quiet renewal.
    var linkFeed = ApplianceLinkFeed()
    /// Generation of the last LED flash (a later flash or state wins).
    var ledFlash = 0
    var capture = CapturePump()
    /// The end of a turn's capture while the audio thread catches up (Daemon+Capture.swift).
    var captureStop = CaptureStop.none
    /// The microphone's echo handling (DaemonEcho.swift); rebuilt with the audio engine.
    var echo: DaemonEcho
    var recording = ApplianceTurnRecording()
    /// The engine's watch for the first answer frame handed to the device after an answer's
    /// first delta ("first sample to ALSA": status latency first delta → first sample); it
    /// reports `.answerStarted` with this generation.
    var firstSampleWatch: Int?
    var answerStarted = false
    /// When the service's socket is left unread for a while (Daemon+Receive.swift); the
    /// generation of the latest hold's timer.
    var receivePacing = ReceivePacing()
    var receiveHold = 0
    /// Button events that wait for what the service sent during a hold to be read.
    var buttonsAwaitingReceive: [ButtonEvent]?
    /// A user-requested reconnect closes the session first; it is started again once closed.
    var restartSessionWhenStopped = false

    // MARK: Lifecycle

    var stopping = false
    var toldReady = false
    var audioReady = false
    var sessionReadyOnce = false
    var signalSources: [DispatchSourceSignal] = []

    /// Builds the parts for `config` (DaemonParts.wire), then the daemon around them.
    convenience init(config: OmniConfig, configPath: String, logger: Logger) throws {
        self.init(config: config, configPath: configPath, logger: logger,
                  parts: try DaemonParts.wire(config: config, logger: logger))
    }

    init(config: OmniConfig, configPath: String, logger: Logger, parts: DaemonParts) {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        loop = parts.loop
        inbox = parts.inbox
        notifier = parts.notifier
        leds = parts.leds
        timers = parts.timers
        session = parts.session
        button = parts.button
        control = parts.control
        camera = parts.camera
        audio = parts.audio
        echo = DaemonEcho(config: config, logger: logger, environment: Files.environment())
        machine = ApplianceMachine(settings: ApplianceSettings(config: config, board: parts.board))
        inbox.attach(self)
    }

    // MARK: Feeding the machine

    /// Hands `event` to the machine. Events are handled one at a time, each together with all
    /// of its actions: an event that comes up while those actions run (a session state change
    /// reported from inside a call the actions made, the first sample seen while the first
    /// delta is queued) waits in `events` and is handled after them, never in their middle.
    func feed(_ event: ApplianceEvent) {
        guard events.enqueue(event) else { return }
        drainEvents()
    }

    /// Handles the queued events in turn; stops while an action waits (the end of a turn's
    /// capture, Daemon+Capture.swift): the queue keeps what comes meanwhile, and
    /// `resumeActions()` goes on from there.
    func drainEvents() {
        while !captureStop.holdsActions, let next = events.next() { step(next) }
    }

    /// One transition, then every action it asked for, in order.
    private func step(_ event: ApplianceEvent) {
        let before = machine.state
        let actions = machine.handle(event, at: loop.clock.now())
        carryOut(actions[...], from: before)
    }

    /// Carries out `actions` in order; after one that has to wait for the audio thread, keeps
    /// the rest with the wait, to be carried out when it ends (`resumeActions`).
    func carryOut(_ actions: ArraySlice<ApplianceAction>, from before: ApplianceState) {
        var rest = actions
        while let action = rest.popFirst() {
            perform(action)
            if captureStop.holdsActions {
                captureStop.hold(rest, from: before)
                return
            }
        }
        if machine.state != before { notifier.status("\(machine.state)") }
        cameraStepped(from: before, to: machine.state)
    }

    private func sessionEvent(_ event: SessionEvent) {
        switch event {
        case .stateChanged(let s):
            // A quiet renewal's states are routine (every few minutes when idle): debug only.
            logger.log(level: linkFeed.renewing ? .debug : .info, "session: \(s)")
            if s == .disconnected && restartSessionWhenStopped && !stopping {
                restartSessionWhenStopped = false
                loop.post { self.session.withManager { $0.start() } }
            }
        case .ready:
            logger.log(level: linkFeed.renewing ? .debug : .info, "session ready")
            sessionReadyOnce = true
            checkReady()
        case .serverError(let code, let message, let type, let recoverable):
            // Recoverable ones are logged by the session, rate-limited (a flood of them must not
            // flood the journal); a fatal one ends the link and is worth its own line.
            if !recoverable { logger.warning("service error type=\(type ?? "-") code=\(code ?? "-"): \(message) (fatal)") }
        case .linkLost(let reason):
            logger.warning("link lost: \(reason)")
        case .renewing(let cause):
            logger.info("session renewal (\(cause)): replacing the session; not an outage")
        case .responseStarted(let id, let stale):
            logger.trace("response \(id) started\(stale ? " (answers an earlier request)" : "")")
        case .droppedAudio(let total):
            logger.warning("link slower than real time: \(total) audio frames dropped so far")
        case .server(let e):
            logger.trace("event \(e.type)")
        }
        if let appliance = linkFeed.event(for: event) { feed(appliance) }
    }

    private func audioEvent(_ event: AudioEvent) {
        switch event {
        case .deviceLost(let direction, let reason):
            logger.error("audio \(direction) device lost: \(reason); retrying every second")
            endStreamingIfCaughtUp()  // a turn's end waiting for the audio thread: it stopped
            feed(.audioDeviceLost)
        case .deviceBack(let capture, let playback):
            logger.info("audio devices open: capture \(capture), playback \(playback)")
            audioReady = true
            checkReady()
            feed(.audioDeviceBack)
            playReadySoundIfDue()
        case .playbackDrained:
            feed(.playbackDrained)
        case .xrun, .underrun:
            break  // logged once, by the engine that saw it; the status reads its counters
        case .captureReady:
            captureReady()
        case .answerStarted(let generation):
            answerStartedPlaying(generation: generation)
        }
    }
}

extension Daemon: DaemonInputReceiver {
    func receive(_ input: DaemonInput) {
        switch input {
        case .button(let b):
            if !deferUntilReceived(b) { handle(b) }
        case .timer(let t): feed(.timer(t))
        case .session(let e): sessionEvent(e)
        case .audio(let e): audioEvent(e)
        case .camera(let f): cameraFrame(f)
        }
    }

    /// A button event, now (Daemon+Receive.swift may have kept it for a moment).
    func handle(_ button: ButtonEvent) {
        feed(.button(button))
        cameraButton(button)
    }

    func status() -> ApplianceStatus {
        let (phase, counters, age) = session.withManager { m in (m.state.phase.rawValue, m.counters, m.sessionAge) }
        let c = audio.counters
        var s = machine.status(connection: phase, reconnects: counters.reconnects, droppedFrames: counters.droppedAudioFrames,
                               xruns: c.xruns, underruns: c.underruns)
        s.session = ApplianceStatus.Session(age: age, renewals: counters.renewals, routineCloses: counters.routineCloses,
                                            outages: counters.outages)
        s.counters.invalidAudio = counters.invalidAudioDeltas
        s.echo = echo.status
        return s
    }
}
