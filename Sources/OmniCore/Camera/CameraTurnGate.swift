// Which camera frames go out, and when the camera runs. Pure and clock-free like the appliance
// machine: the controller feeds it the turn's edges, the look gesture, its own audio appends and
// each encoded frame, with the time; it answers with what to do.
//
// The service's rules (protocol §3.5) and ours:
// - frames only while a turn is open: from `listening` until the capture ends (release, toggle
//   tap, VAD speech_stopped); images ride along with the next commit, so a frame sent later
//   would land in the wrong turn;
// - never before the turn's first `input_audio_buffer.append` (else the service answers
//   "Error append image before append audio."): a frame that is ready earlier waits for it;
// - at most one frame per frame interval (the configured fps);
// - the first frame is fresh: captured after the turn opened, never a leftover of an earlier one;
// - a frame captured more than a second ago is never sent;
// - with `when = "look"`, only turns marked by the look gesture (made during the turn, or at most
//   `lookWindow` before it opened) run the camera at all.
// A turn for which no frame qualifies goes out with its audio only; nothing here holds audio.

public enum CameraGateOutput<Frame>: CustomStringConvertible {
    /// Start capturing (the privacy LED goes on with the first capture).
    case startCapture
    /// Stop capturing (and the privacy LED goes off).
    case stopCapture
    /// Send this frame now (`input_image_buffer.append`).
    case send(Frame)
    /// This frame is not sent, and why (for the debug log and the tests).
    case drop(CameraFrameDropReason)
    /// The turn ended; how many frames it carried, and whether it was committed (sent) or
    /// dropped (too short, cancelled) with its frames (for one info line).
    case turnEnded(framesSent: Int, look: Bool, committed: Bool)

    public var description: String {
        switch self {
        case .startCapture: "startCapture"
        case .stopCapture: "stopCapture"
        case .send: "send"
        case .drop(let r): "drop(\(r.rawValue))"
        case .turnEnded(let n, let look, let committed): "turnEnded(\(n)\(look ? ", look" : "")\(committed ? "" : ", dropped"))"
        }
    }
}

extension CameraGateOutput: Sendable where Frame: Sendable {}
extension CameraTurnGate: Sendable where Frame: Sendable {}
extension CameraTurnGate.Turn: Sendable where Frame: Sendable {}

public enum CameraFrameDropReason: String, Sendable, Equatable {
    /// No turn is open (or the camera does not run for this one).
    case noTurn = "no turn open"
    /// Captured before the turn opened.
    case stale = "captured before the turn"
    /// Captured more than `maxFrameAge` ago.
    case tooOld = "older than a second"
    /// Less than a frame interval after the previous frame.
    case tooSoon = "faster than the configured rate"
    /// A newer frame replaced it while both waited for the turn's first audio.
    case superseded = "replaced by a newer frame"
}

public struct CameraTurnGate<Frame> {
    public struct Settings: Sendable, Equatable {
        public var frameInterval: Duration
        public var trigger: CameraTrigger
        public var maxFrameAge: Duration
        public var lookWindow: Duration
        /// Frames closer together than `interval × rateSlack` are refused: the capture thread
        /// paces itself, so this only catches bursts, not the jitter of a well-paced stream.
        public var rateSlack: Double

        public init(frameInterval: Duration, trigger: CameraTrigger, maxFrameAge: Duration = CameraLimits.maxFrameAge,
                    lookWindow: Duration = CameraLimits.lookWindow, rateSlack: Double = 0.75) {
            self.frameInterval = frameInterval
            self.trigger = trigger
            self.maxFrameAge = maxFrameAge
            self.lookWindow = lookWindow
            self.rateSlack = rateSlack
        }

        public init(_ camera: OmniConfig.Camera) {
            self.init(frameInterval: camera.frameInterval, trigger: camera.when)
        }
    }

    struct Turn {
        var openedAt: Duration
        var look: Bool
        var audioSent = false
        var framesSent = 0
        var lastSentAt: Duration?
        var pending: (frame: Frame, capturedAt: Duration)?
    }

    public let settings: Settings
    var turn: Turn?
    var lookArmedAt: Duration?
    public private(set) var capturing = false

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Whether a turn is open (whether or not the camera runs for it).
    public var turnOpen: Bool { turn != nil }

    /// The appliance entered `listening`: a turn's capture began.
    public mutating func turnOpened(at now: Duration) -> [CameraGateOutput<Frame>] {
        var out = closeTurn(committed: false)
        var look = false
        if let armed = lookArmedAt, now - armed <= settings.lookWindow {
            look = true
        }
        lookArmedAt = nil
        turn = Turn(openedAt: now, look: look)
        if runsCamera { setCapturing(true, &out) }
        return out
    }

    /// The appliance left `listening`: the turn's capture is over, `committed` (thinking) or not
    /// (cancelled, too short, lost).
    public mutating func turnClosed(at now: Duration, committed: Bool = true) -> [CameraGateOutput<Frame>] {
        closeTurn(committed: committed)
    }

    /// The board's look gesture: marks the open turn, or the next one to open.
    public mutating func lookGesture(at now: Duration) -> [CameraGateOutput<Frame>] {
        guard var t = turn else {
            lookArmedAt = now
            return []
        }
        var out: [CameraGateOutput<Frame>] = []
        if !t.look {
            t.look = true
            turn = t
            if runsCamera { setCapturing(true, &out) }
        }
        return out
    }

    /// An audio chunk of the open turn was handed to the session; a frame waiting for it goes now.
    public mutating func audioAppended(at now: Duration) -> [CameraGateOutput<Frame>] {
        guard var t = turn, !t.audioSent else { return [] }
        t.audioSent = true
        turn = t
        guard let p = t.pending else { return [] }
        turn?.pending = nil
        var out: [CameraGateOutput<Frame>] = []
        offer(p.frame, capturedAt: p.capturedAt, at: now, into: &out)
        return out
    }

    /// An encoded frame from the camera, captured at `capturedAt`.
    public mutating func frame(_ frame: Frame, capturedAt: Duration, at now: Duration) -> [CameraGateOutput<Frame>] {
        var out: [CameraGateOutput<Frame>] = []
        offer(frame, capturedAt: capturedAt, at: now, into: &out)
        return out
    }

    // MARK: -

    var runsCamera: Bool {
        guard let t = turn else { return false }
        return settings.trigger == .turn || t.look
    }

    private mutating func offer(_ frame: Frame, capturedAt: Duration, at now: Duration, into out: inout [CameraGateOutput<Frame>]) {
        guard runsCamera, var t = turn else { return out.append(.drop(.noTurn)) }
        guard capturedAt >= t.openedAt else { return out.append(.drop(.stale)) }
        guard now - capturedAt <= settings.maxFrameAge else { return out.append(.drop(.tooOld)) }
        guard t.audioSent else {
            if t.pending != nil { out.append(.drop(.superseded)) }
            t.pending = (frame, capturedAt)
            turn = t
            return
        }
        if let last = t.lastSentAt, now - last < settings.frameInterval * settings.rateSlack {
            return out.append(.drop(.tooSoon))
        }
        t.lastSentAt = now
        t.framesSent += 1
        turn = t
        out.append(.send(frame))
    }

    private mutating func closeTurn(committed: Bool) -> [CameraGateOutput<Frame>] {
        var out: [CameraGateOutput<Frame>] = []
        guard let t = turn else { return out }
        turn = nil
        if t.pending != nil { out.append(.drop(.noTurn)) }
        setCapturing(false, &out)
        if settings.trigger == .turn || t.look {
            out.append(.turnEnded(framesSent: t.framesSent, look: t.look, committed: committed))
        }
        return out
    }

    private mutating func setCapturing(_ on: Bool, _ out: inout [CameraGateOutput<Frame>]) {
        guard on != capturing else { return }
        capturing = on
        out.append(on ? .startCapture : .stopCapture)
    }
}
