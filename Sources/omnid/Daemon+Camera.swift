import Logging
import OmniCore
import OmniLinux
import OmniSystem

// The camera in the running appliance. The capture thread (OmniLinux.CameraCapture) takes and
// encodes frames while it is active; the gate (OmniCore.CameraTurnGate) decides on the
// controller loop when it is active and which frames go to the session. The daemon tells the
// gate three things: the machine entered or left `listening` (a turn's capture), an audio chunk
// of the turn went to the session, the look gesture happened. All of it is here; the daemon's
// own files only call these hooks.

/// The camera part: built by DaemonParts.wire when `[camera] device` is not "none".
final class DaemonCamera: @unchecked Sendable {
    // @unchecked: `gate` is touched on the controller loop only; `capture` is thread-safe.
    let capture: CameraCapture
    let settings: OmniConfig.Camera
    /// The button gesture that means "look" (double or long press), if the board has one.
    let lookGesture: ButtonEvent?
    var gate: CameraTurnGate<CameraFrame>
    /// When the open turn began (the machine entered `listening`), until its first frame is sent.
    var turnOpenedAt: Duration?
    private let logger: Logger

    init(capture: CameraCapture, settings: OmniConfig.Camera, lookGesture: ButtonEvent?, logger: Logger) {
        self.capture = capture
        self.settings = settings
        self.lookGesture = lookGesture
        self.logger = logger
        gate = CameraTurnGate(settings: .init(settings))
    }

    /// The camera for `config`, reporting frames to `inbox`; nil without a camera.
    static func make(config: OmniConfig, board: BoardIOConfig, inbox: DaemonInbox) throws -> DaemonCamera? {
        let c = config.camera
        guard c.enabled else { return nil }
        let limit = FrameSize(width: c.maxWidth, height: c.maxHeight)
        let clock = SystemMonotonicClock()
        let logger = Logger(label: "omnid.camera")
        let light: any CameraPrivacyLight
        do {
            light = try GPIOPrivacyLight.make(c.privacyLED, backend: LibgpiodBackend(), logger: logger)
        } catch {
            throw StartupConfigError(description: "\(error.configError)")
        }
        let device = c.device
        let capture = CameraCapture(
            options: .init(interval: c.frameInterval),
            makeSource: { CameraDevices.source(device, limit: limit, clock: clock)! },
            encoder: CameraFrameEncoder.Settings(c), light: light, clock: clock, logger: logger,
            onFrame: { [inbox] frame in inbox.post(.camera(frame)) })
        let look: ButtonEvent? = board.button.doublePressAction == .look ? .doublePress
            : board.button.longPressAction == .look ? .longPress : nil
        logger.info("camera \(device), \(c.fps) fps, at most \(limit), \(c.when == .look ? "look turns only" : "every turn")")
        return DaemonCamera(capture: capture, settings: c, lookGesture: look, logger: logger)
    }

    /// Carries out what the gate asked for.
    func perform(_ outputs: [CameraGateOutput<CameraFrame>], at now: Duration, session: SessionHost) {
        for o in outputs {
            switch o {
            case .startCapture: capture.setActive(true)
            case .stopCapture: capture.setActive(false)
            case .send(let f):
                session.withManager { $0.appendImage(base64: f.base64) }
                if let opened = turnOpenedAt {
                    // Once per turn, at info: the latency a user feels ("press → the model sees").
                    turnOpenedAt = nil
                    let timing = "captured at +\(Self.ms(f.capturedAt - opened)) ms, encoded in \(Self.ms(f.encodedAt - f.capturedAt)) ms"
                    logger.info("camera: first frame sent \(Self.ms(now - opened)) ms after the turn opened (\(timing); \(f.summary))")
                }
                logger.debug("camera frame sent: \(f.summary); capture → encoded \(Self.ms(f.encodedAt - f.capturedAt)) ms, → sent \(Self.ms(now - f.capturedAt)) ms")
            case .drop(let why):
                logger.debug("camera frame not sent: \(why.rawValue)")
            case .turnEnded(let n, let look, let committed):
                turnOpenedAt = nil
                let kind = look ? "look turn" : "turn"
                let frames = "\(n) frame\(n == 1 ? "" : "s")"
                if !committed {
                    logger.info("camera: the \(kind) was dropped\(n == 0 ? "" : ", and its \(frames) with it")")
                } else {
                    logger.info(n == 0 ? "camera: the \(kind) went out without a frame" : "camera: \(frames) went with the \(kind)")
                }
            }
        }
    }

    static func ms(_ d: Duration) -> String {
        let tenths = d.wholeNanoseconds / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

extension Daemon {
    /// After every machine step: entering `listening` opens the camera's turn, leaving it closes it.
    func cameraStepped(from before: ApplianceState, to after: ApplianceState) {
        guard let camera, before != after, before == .listening || after == .listening else { return }
        let now = loop.clock.now()
        if before == .listening {
            camera.perform(camera.gate.turnClosed(at: now, committed: after == .thinking), at: now, session: session)
        }
        if after == .listening {
            camera.turnOpenedAt = now
            camera.perform(camera.gate.turnOpened(at: now), at: now, session: session)
        }
    }

    /// A button gesture, after the machine has seen it: the look gesture marks a turn.
    func cameraButton(_ b: ButtonEvent) {
        guard let camera, b == camera.lookGesture else { return }
        let now = loop.clock.now()
        camera.perform(camera.gate.lookGesture(at: now), at: now, session: session)
    }

    /// An audio chunk of the turn went to the session (frames may follow it, never precede it).
    func cameraAudioSent() {
        guard let camera, camera.gate.turnOpen else { return }
        let now = loop.clock.now()
        camera.perform(camera.gate.audioAppended(at: now), at: now, session: session)
    }

    /// A frame from the capture thread.
    func cameraFrame(_ frame: CameraFrame) {
        guard let camera else { return }
        let now = loop.clock.now()
        camera.perform(camera.gate.frame(frame, capturedAt: frame.capturedAt, at: now), at: now, session: session)
    }

    func startCamera() {
        guard let camera else { return }
        do {
            try camera.capture.start()
        } catch {
            logger.error("camera thread: \(error); turns go out with audio only")
        }
    }

    /// Shutdown, first half: the thread stops capturing (LED off) and ends on its own.
    func stopCamera() { camera?.capture.requestStop() }

    /// Shutdown, second half: waits for the thread (at most one frame wait, 200 ms).
    func joinCamera() { camera?.capture.join() }
}
