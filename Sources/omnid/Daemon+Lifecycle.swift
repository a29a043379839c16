import Dispatch
import OmniCore
import OmniLinux
#if canImport(Glibc)
import Glibc
#endif

// Starting, stopping and reloading the running daemon, and telling systemd how it is doing.

extension Daemon {
    // MARK: Start and stop

    /// Starts the parts DaemonParts built: the control socket, the audio devices (with the
    /// capture interest set before they open), the session, the signal handlers.
    func start() throws {
        // First: READY=1 may go out (from the loop) before start() returns, and systemd may then
        // send SIGHUP at once; with the default action still in place that would kill us.
        installSignals()
        do {
            try control.start()
        } catch {
            throw StartupConfigError(description: "control socket \(config.control.socket): \(error)")
        }
        loop.post {
            self.leds.show(self.machine.state)
            self.startWatchdog()
        }
        audio.setCaptureInterest(.idle)
        try audio.start(waitForDevice: true)
        startCamera()
        loop.post {
            // A first open that succeeds at once is not reported as an event.
            if self.audio.status.devicesOpen {
                self.audioReady = true
                self.checkReady()
            }
        }
        session.start()
        // Offline but running still counts as started: systemd must not wait forever for a
        // network that may never come.
        loop.post { self.loop.after(.seconds(15)) { self.tellReady("offline: waiting for the service") } }
    }

    /// Signals reach libdispatch's own thread, which posts them to the loop. SIGTERM/SIGINT
    /// also arm the backstop there, not on the loop: the loop itself may be what is stuck.
    private func installSignals() {
        let queue = DispatchQueue(label: "omnid.signals")
        let logger = self.logger
        var backstopArmed = false  // touched on `queue` only
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler { [unowned self] in
                if sig != SIGHUP && !backstopArmed {
                    backstopArmed = true
                    queue.asyncAfter(deadline: .now() + .nanoseconds(Int(Self.hardStopDeadline.wholeNanoseconds))) {
                        logger.warning("shutdown did not finish within \(Self.hardStopDeadline); exiting without waiting")
                        _exit(0)
                    }
                }
                loop.post { if sig == SIGHUP { self.reload() } else { self.shutdown() } }
            }
            src.resume()
            signalSources.append(src)
        }
    }

    /// SIGTERM/SIGINT: a clean close (close frame to the service, devices closed, LEDs off)
    /// within `cleanStopBudget`; whatever still holds on after `hardStopDeadline` (a DNS lookup
    /// that hangs on the loop's thread, a wedged device) does not keep the process alive
    /// (`installSignals` arms that backstop): systemd would otherwise wait for TimeoutStopSec
    /// and then SIGKILL it.
    private func shutdown() {
        guard !stopping else { return }
        stopping = true
        logger.info("stopping")
        notifier.stopping()
        timers.cancelAll()
        control.stop()
        button?.shutdown()
        stopCamera()
        session.stop(timeout: Self.cleanStopBudget) { [self] in
            audio.stop()
            joinCamera()
            leds.close()
            exit(0)
        }
    }

    /// How long the service gets to confirm the close before the link is dropped.
    static let cleanStopBudget = Duration.milliseconds(500)
    /// After this the process exits whatever is still running.
    static let hardStopDeadline = Duration.milliseconds(900)

    // MARK: systemd

    /// READY=1 once: when devices are open and the first session is configured, or when the
    /// offline grace period ends.
    private func tellReady(_ status: String) {
        guard !toldReady else { return }
        toldReady = true
        notifier.ready(status: status)
    }

    func checkReady() {
        if audioReady && sessionReadyOnce { tellReady("ready") }
    }

    /// WATCHDOG=1 from the controller loop itself, so a wedged controller gets restarted.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        loop.every(max(interval, .milliseconds(100))) { [notifier] in notifier.watchdog() }
    }

    // MARK: Reload

    /// SIGHUP: re-read the config; voice/instructions go out as session.update without
    /// reconnecting (a voice change once the session produced audio renews it between turns),
    /// a changed URL or key connects anew at once, changed devices are reopened. An invalid file
    /// keeps the running config.
    private func reload() {
        notifier.reloading()
        // RELOADING=1 must be followed by READY=1 (sd_notify(3)), whether or not the new file
        // was taken; otherwise systemd shows the unit "reloading" until its timeout.
        defer { notifier.ready(status: "\(machine.state)") }
        do {
            let loaded = try ConfigLoader.load(path: configPath, env: Files.configEnvironment())
            _ = try BoardIOConfig.parse(loaded.config.board)
            for w in loaded.warnings { logger.warning("\(w)") }
            let old = config
            config = loaded.config
            session.withManager { m in
                if old.sessionUpdate != config.sessionUpdate { m.updateSession(config.sessionUpdate) }
                if old.connectRequest != config.connectRequest {
                    // A new URL or key is used at once, also from the bad-key wait: the session is
                    // replaced between turns (quietly), or the wait ends now.
                    m.updateRequest(config.connectRequest)
                    m.renew(.reload)
                }
            }
            if old.audio != config.audio {
                logger.info("audio settings changed: reopening the devices")
                resumeActions()  // a turn's end waiting for this engine's audio thread: send what it has
                audio.stop()
                audio = DaemonParts.audioEngine(config.engineAudio, reportingTo: inbox)
                echo = echo.reloaded(from: old, to: config, environment: Files.environment())
                // The new engine starts with nothing armed: tell it what the capture wants.
                firstSampleWatch = nil
                armCapture()
                do { try audio.start(waitForDevice: true) } catch { logger.error("audio: \(error)") }
                playReadySoundIfDue()  // a new echo path while streaming: its canceller learns now
            }
            if old.session.mode != config.session.mode || old.session.bargeIn != config.session.bargeIn
                || old.board != config.board || old.camera != config.camera {
                logger.warning("mode, barge_in, board and camera changes take effect at the next restart")
            }
            logger.info("configuration reloaded from \(configPath)")
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }
}
