import Dispatch
import Logging
import OmniCore
import OmniLinux
import RealtimeProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Owns the running appliance: config, session, signals. Lives on the controller loop.
final class Daemon: @unchecked Sendable {
    // @unchecked: mutable state is touched on `loop.queue` only.
    private let loop = ControllerLoop()
    private let logger: Logger
    private let configPath: String
    private var config: OmniConfig
    private var session: SessionRuntime!
    private var signalSources: [DispatchSourceSignal] = []
    private var stopping = false
    private let notifier = SystemdNotifier(environment: Files.environment())
    private var toldReady = false
    private var statusText = "starting"
    private var watchdogTimer: DispatchSourceTimer?

    init(config: OmniConfig, configPath: String, logger: Logger) {
        self.config = config
        self.configPath = configPath
        self.logger = logger
    }

    func start() {
        logger.info("omnid \(OmnidVersion.string) starting; service \(config.service.effectiveURL), model \(config.service.model), mode \(config.session.mode.rawValue)")
        session = SessionRuntime(request: config.connectRequest, session: config.sessionUpdate,
                                 settings: config.sessionSettings, loop: loop, logger: Logger(label: "omnid.session"))
        loop.post {
            self.session.setEventHandler { [unowned self] in self.sessionEvent($0) }
        }
        session.start()
        installSignals()
        loop.post { self.startWatchdog() }
        // Offline but running still counts as started: systemd must not wait forever for a
        // network that may never come.
        loop.queue.asyncAfter(deadline: .now() + .seconds(15)) { self.tellReady("offline: waiting for the service") }
    }

    /// READY=1 once, when the first session is configured or the offline grace period ends.
    private func tellReady(_ status: String) {
        guard !toldReady else { return }
        toldReady = true
        notifier.ready(status: status)
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
        session.stop { exit(0) }
    }

    /// SIGHUP: re-read the config; voice/instructions go out as session.update without
    /// reconnecting. An invalid file keeps the running config.
    private func reload() {
        notifier.reloading()
        defer { notifier.status(statusText) }
        do {
            let loaded = try ConfigLoader.load(path: configPath, env: Files.configEnvironment())
            for w in loaded.warnings { logger.warning("\(w)") }
            let old = config
            config = loaded.config
            session.withManager { m in
                if old.connectRequest != config.connectRequest { m.updateRequest(config.connectRequest) }
                if old.sessionUpdate != config.sessionUpdate { m.updateSession(config.sessionUpdate) }
            }
            logger.info("configuration reloaded from \(configPath)")
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }

    private func sessionEvent(_ event: SessionEvent) {
        switch event {
        case .stateChanged(let s):
            logger.info("session: \(s)")
            statusText = "session \(s.phase.rawValue)"
            notifier.status(statusText)
        case .ready:
            logger.info("session ready")
            tellReady("ready")
        case .serverError(let code, let message, let type, let recoverable):
            logger.warning("service error type=\(type ?? "-") code=\(code ?? "-"): \(message)\(recoverable ? "" : " (fatal)")")
        case .linkLost(let reason):
            logger.warning("link lost: \(reason)")
        case .droppedAudio(let total):
            logger.warning("link slower than real time: \(total) audio frames dropped so far")
        case .server(let e):
            switch e.body {
            case .inputTranscriptionCompleted(_, _, let transcript):
                logger.info("user said: \(transcript)")
            case .audioTranscriptDone(_, let transcript), .textDone(_, let transcript):
                logger.info("assistant said: \(transcript)")
            default:
                logger.debug("event \(e.type)")
            }
        }
    }
}
