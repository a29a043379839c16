import Logging
import OmniCore
import OmniLinux

/// Startup failures that are the configuration's fault (exit 78, no restart loop).
struct StartupConfigError: Error, CustomStringConvertible {
    var description: String
}

/// Everything the daemon drives, built once at startup before the daemon itself exists. No part
/// calls the daemon: each reports to `inbox`, which hands its reports over on the controller
/// loop. So the daemon can hold every part as a constant, with nothing half-built in between.
struct DaemonParts {
    let board: BoardIOConfig
    let loop: ControllerLoop
    let inbox: DaemonInbox
    let notifier: SystemdNotifier
    let leds: LEDDriver
    let timers: ApplianceTimerDriver
    let session: SessionHost
    let audio: AudioEngine
    /// nil when the board has no button (the control socket's software button remains).
    let button: (any ApplianceButtonInput)?
    /// Built, not yet listening: `Daemon.start()` opens the socket.
    let control: ControlServer
    /// nil without a camera; its thread starts in `Daemon.start()`.
    let camera: DaemonCamera?

    /// Builds the parts for `config`. Nothing runs yet except the button, whose API opens and
    /// starts it in one call (presses made before the daemon is attached wait in the inbox);
    /// the rest starts in `Daemon.start()`.
    static func wire(config: OmniConfig, logger: Logger) throws -> DaemonParts {
        let board: BoardIOConfig
        do {
            board = try BoardIOConfig.parse(config.board)
        } catch {
            throw StartupConfigError(description: "\(error)")
        }
        logger.info("omnid \(OmnidVersion.string) starting; service \(config.service.effectiveURL), model \(config.service.model), mode \(config.session.mode.rawValue), board \(config.board.name ?? config.board.file ?? "none")")
        let leds: LEDDriver
        do {
            leds = try LEDDriver.make(config: board.leds, backend: LibgpiodBackend())
        } catch {
            throw StartupConfigError(description: "\(error.configError)")
        }
        let loop = ControllerLoop()
        let inbox = DaemonInbox(loop: loop)
        let timers = ApplianceTimerDriver(loop: loop) { [inbox] t in inbox.deliver(.timer(t)) }
        let session = SessionHost(request: config.connectRequest, session: config.sessionUpdate,
                                     settings: config.sessionSettings, loop: loop, logger: Logger(label: "omnid.session"))
        // The handler may only be set on the loop; the session reports nothing before `start()`.
        loop.post { session.setEventHandler { [inbox] in inbox.deliver(.session($0)) } }
        let audio = audioEngine(config.engineAudio, reportingTo: inbox)
        let camera = try DaemonCamera.make(config: config, board: board, inbox: inbox)
        let button: (any ApplianceButtonInput)?
        let control: ControlServer
        do {
            button = try ApplianceButtons.start(board.button) { [inbox] g in inbox.post(.button(g.event)) }
        } catch {
            throw StartupConfigError(description: "\(error)")
        }
        do {
            control = try ControlServer(path: config.control.socket, gestures: board.button.gestures,
                                        onButton: { [inbox] g in inbox.post(.button(g.event)) },
                                        status: { [inbox] reply in inbox.status(reply) })
        } catch {
            throw StartupConfigError(description: "control socket \(config.control.socket): \(error)")
        }
        return DaemonParts(board: board, loop: loop, inbox: inbox, notifier: SystemdNotifier(environment: Files.environment()),
                           leds: leds, timers: timers, session: session, audio: audio, button: button, control: control,
                           camera: camera)
    }

    /// An audio engine for `audioConfig` that reports to `inbox` (at startup, and again when a
    /// reload changes the audio settings).
    static func audioEngine(_ audioConfig: OmniConfig.Audio, reportingTo inbox: DaemonInbox) -> AudioEngine {
        var options = audioTestOptions()
        // The speaker's audio for the echo canceller or the half-duplex gate (DaemonEcho.swift).
        options.echoReference = true
        // The audio thread's reports wake the controller loop itself (no monitor thread): its
        // events are then delivered on the loop, and the post below only queues them.
        options.eventLoop = inbox.loop.events
        return AudioEngine(config: audioConfig, options: options, logger: Logger(label: "omnid.audio")) { [inbox] event in
            inbox.post(.audio(event))
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
}
