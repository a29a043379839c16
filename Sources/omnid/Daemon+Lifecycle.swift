import Dispatch
import OmniCore
import OmniLinux
#if canImport(Glibc)
import Glibc
#endif

// Starting, stopping and reloading the running daemon, and telling systemd how it is doing.

extension Daemon {
    // MARK: Start and stop

    /// Starts the parts DaemonParts built: the control socket, the capture pump, the audio
    /// devices, the session, the signal handlers.
    func start() throws {
        do {
            try control.start()
        } catch {
            throw StartupConfigError(description: "control socket \(config.control.socket): \(error)")
        }
        loop.post {
            self.leds.show(self.machine.state)
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
        control.stop()
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

    func checkReady() {
        if audioReady && sessionReadyOnce { tellReady("ready") }
    }

    /// WATCHDOG=1 from the controller loop itself, so a wedged controller gets restarted.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let t = DispatchSource.makeTimerSource(queue: loop.queue)
        let ms = Int(interval.wholeMilliseconds)
        t.schedule(deadline: .now(), repeating: .milliseconds(max(ms, 100)))
        t.setEventHandler { [notifier] in notifier.watchdog() }
        t.resume()
        watchdogTimer = t
    }

    // MARK: Reload

    /// SIGHUP: re-read the config; voice/instructions go out as session.update without
    /// reconnecting, changed devices are reopened. An invalid file keeps the running config.
    private func reload() {
        notifier.reloading()
        // systemd holds the unit in "reloading" (and `systemctl reload` waits) after RELOADING=1
        // until READY=1 comes, whether the new file was good or not.
        defer { notifier.ready(status: "\(machine.state)") }
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
                audio = DaemonParts.audioEngine(config.audio, reportingTo: inbox)
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
