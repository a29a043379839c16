// The appliance state machine's vocabulary: its states, the events it is fed and the actions it
// asks for. The machine itself (ApplianceMachine) is pure: no I/O, no clock of its own, no
// threads. The controller feeds it events with the current monotonic time, one at a time (see
// ApplianceEventQueue), and carries out each event's actions in order (session manager, audio
// engine, LEDs, earcons, log, timers). Every action carries what it needs to be carried out.

/// What the box is doing, as the user sees it (LEDs, `omnid ctl status`). The raw value is the
/// lower-case name used in logs, the status JSON and the board file's `[leds]` keys.
public enum ApplianceState: String, Sendable, Equatable, Hashable, CaseIterable, CustomStringConvertible {
    /// The link to the service is being opened (first connect, or a reconnect attempt).
    case connecting
    /// Link up, nothing happening. In VAD mode the microphone streams and the service listens.
    case ready
    /// A user turn is being captured (button held, toggled on, or the service heard speech).
    case listening
    /// The turn was sent; waiting for the answer.
    case thinking
    /// The answer is playing.
    case speaking
    /// The microphone is muted by the user (no turn can start until unmuted).
    case muted
    /// The link was lost; a reconnect is scheduled.
    case offline
    /// Something needs attention: the API key was rejected, or the audio device is gone.
    case error

    public var description: String { rawValue }

    /// States in which a turn is under way.
    public var isTurn: Bool { self == .listening || self == .thinking || self == .speaking }
}

/// The link as the appliance cares about it (a reduction of `SessionState`).
public enum ApplianceLink: String, Sendable, Equatable, CaseIterable {
    /// Connecting or configuring.
    case connecting
    /// Configured; client events flow.
    case up
    /// Being replaced quietly on the service's rules (idle close, session cap) or for a reload:
    /// not an outage. Turns are taken as when up; a manual turn's audio waits for the new session.
    case renewing
    /// Lost; waiting to reconnect.
    case down
    /// The API key was rejected; waiting the long retry.
    case authFailed
    /// Stopped by us (shutdown) or never started.
    case stopped
}

/// What the button (or the keyboard, or the control socket) did, after debouncing and gesture
/// detection (see GestureDetector for the exact rules).
public enum ButtonEvent: String, Sendable, Equatable, Hashable, CaseIterable {
    /// Went down (every press).
    case press
    /// Came up (every release).
    case release
    /// A short press-and-release that was not part of a double press.
    case tap
    /// Still held after the long-press time (fires once per press, while held).
    case longPress
    /// A press that started within the double-press window after a tap's release (fires at that
    /// second press, right after its `.press`).
    case doublePress
}

/// What a long press or a double press does (board file `[button] long_press` / `double_press`).
public enum ApplianceGestureAction: String, Sendable, Equatable, CaseIterable {
    case none
    /// Toggle the microphone mute.
    case mute
    /// Drop the link and connect again now.
    case reconnect
    /// Stop the answer that is being prepared or played.
    case interrupt
    /// Let the camera see this turn (`[camera] when = "look"`): the turn that is open, or the
    /// next one. The machine keeps the turn going; the camera side (omnid) acts on the gesture.
    case look
}

/// The server events that matter to the appliance, reduced from `ServerEvent`
/// (see `ApplianceServerSignal.init?(_:)`).
public enum ApplianceServerSignal: Sendable, Equatable {
    /// `input_audio_buffer.speech_started` (VAD).
    case speechStarted
    /// `input_audio_buffer.speech_stopped` (VAD).
    case speechStopped
    /// `input_audio_buffer.committed`: the service has the turn's audio.
    case committed
    /// `response.created`. `stale`: it answers an earlier request of ours than the latest (the
    /// session manager knows; see SessionEvent.responseStarted), so it is not this turn's answer.
    case responseCreated(responseID: String, stale: Bool = false)
    /// `response.audio.delta` carrying `audioMs` milliseconds of 24 kHz audio, Base64 s16le as
    /// received. The machine only passes `base64` on, in `.playAudioDelta`, so a caller with no
    /// audio to play (a test) may leave it empty.
    case audioDelta(responseID: String, audioMs: Int, base64: String = "")
    /// `response.audio.done` / `response.output_item.done`: no more audio for this response.
    case responseAudioEnded(responseID: String)
    /// `response.done`, with the response's status (completed, failed, incomplete, cancelled).
    case responseDone(responseID: String, status: String?)
    /// The user's words (`conversation.item.input_audio_transcription.completed`).
    case userTranscript(String)
    /// The answer's words (`response.audio_transcript.done` / `response.text.done`).
    case assistantTranscript(responseID: String, text: String)
    /// A recoverable `error` event (non-recoverable ones arrive as a link loss).
    case error(code: String?, message: String)
    /// The service refused a request for its rate limit or quota. Fatal (a link loss follows),
    /// but a turn it refused is counted as rate-limited, not as lost with the link: the remedy is
    /// to ask less often, not to look at the network.
    case rateLimited(message: String)
}

/// A timer the machine asked for. The generation makes a late firing of a cancelled or
/// re-armed timer harmless: the machine ignores a timer that is not the one it armed last.
public struct ApplianceTimer: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, Hashable, CaseIterable {
        /// A manual turn reached the maximum length: commit it.
        case maxTurn
        /// No response arrived for a sent turn.
        case response
        /// A response stopped sending anything before it ended.
        case answerIdle
        /// Playback did not report drained long after the answer's audio should have played.
        case drain
        /// A turn waiting for the link to come back (to be replayed) waited too long.
        case replay
    }

    public var kind: Kind
    public var generation: UInt64

    public init(_ kind: Kind, generation: UInt64) {
        self.kind = kind
        self.generation = generation
    }

    public var description: String { "\(kind.rawValue)#\(generation)" }
}

/// Short sounds that tell the user what happened without looking at the box.
public enum ApplianceEarcon: String, Sendable, Equatable, Hashable, CaseIterable {
    /// A turn started: speak now.
    case listen
    /// The turn was sent.
    case send
    /// The turn was dropped on purpose (too short, or abandoned by a gesture).
    case cancel
    /// Something failed: the turn was lost, or the box cannot take a turn now (offline, error).
    case error
    /// The microphone is muted (also the reminder when a muted box is pressed).
    case mute
    case unmute
    /// The link is up again after being offline (and the first time after boot).
    case ready
}

public enum TranscriptRole: String, Sendable, Equatable, CaseIterable {
    case user
    case assistant
}

/// The machine's inputs. Every one is handled in every state (see ApplianceMachine).
public enum ApplianceEvent: Sendable, Equatable {
    /// Session manager: connecting or configuring.
    case linkConnecting
    /// Session manager: ready (`session.updated`); queued client events flow.
    case linkReady
    /// Session manager: the session is being replaced quietly (`.renewing`); `.linkReady` follows.
    case linkRenewing
    /// Session manager: the link was lost; a reconnect is scheduled.
    case linkLost
    /// Session manager: the API key was rejected.
    case linkAuthFailed
    /// Session manager: stopped (shutdown).
    case linkStopped
    case button(ButtonEvent)
    case server(ApplianceServerSignal)
    /// Audio engine: the first sample of the answer reached ALSA (after the pre-roll).
    case playbackStarted
    /// Audio engine: everything queued before `.endOfAnswer` has been played.
    case playbackDrained
    /// Audio engine: the capture or playback device disappeared (USB unplugged, …).
    case audioDeviceLost
    /// Audio engine: the devices work again.
    case audioDeviceBack
    /// A timer armed with `.startTimer` fired.
    case timer(ApplianceTimer)
}

/// What the machine asks the controller to do, in order.
public enum ApplianceAction: Sendable, Equatable {
    /// Start sending captured audio (`input_audio_buffer.append`). With `record`, also keep a copy
    /// of this turn's audio (replacing the previous one) so `.replayTurn` can resend it.
    case startStreaming(record: Bool)
    /// Stop sending captured audio.
    case stopStreaming
    /// Keep capturing and recording the turn but send nothing to the session until `.replayTurn`
    /// (the session is being replaced; the new one gets the whole turn).
    case holdCapture
    /// Hands-free: an utterance began (on) or its capture ended (off). While on, keep a copy of
    /// its audio from just before its start (the service's prefix padding), so that a session
    /// replaced in the middle of it can be sent the whole utterance (`.replayTurn`).
    case recordUtterance(Bool)
    /// `input_audio_buffer.commit`.
    case commit
    /// `response.create`.
    case createResponse
    /// `response.cancel`.
    case cancelResponse
    /// `input_audio_buffer.clear`.
    case clearInputBuffer
    /// Send the recorded audio of the turn again, whole, to the new session (always preceded by
    /// `.clearInputBuffer`; followed by `.commit` + `.createResponse` once the capture is over).
    /// Ends a `.holdCapture`: live audio follows the recording.
    case replayTurn
    /// Only as an answer to `.server(.audioDelta)`: decode this delta (the event's Base64 s16le
    /// 24 kHz audio) into the playback ring. Deltas that do not get this action (a cancelled
    /// answer's stragglers) are dropped.
    case playAudioDelta(base64: String)
    /// Drop everything queued for playback now (barge-in).
    case flushPlayback
    /// No more audio will come for this answer: play the tail (even below the pre-roll) and
    /// report `.playbackDrained` when done.
    case endOfAnswer
    case earcon(ApplianceEarcon)
    /// Show this state on the LEDs. Emitted on every state change, and again to re-assert the
    /// state when a press cannot be served (e.g. offline).
    case setLEDs(ApplianceState)
    /// Show this state's pattern for a moment, then the current state again (a failed turn).
    case flashLEDs(ApplianceState)
    /// Log at info level: `user: …` / `assistant: …`.
    case logTranscript(TranscriptRole, String)
    /// Something worth one info line in the log (why a press did nothing, a turn was lost, …).
    case logNotice(String)
    /// Arm (or re-arm) a one-shot timer; deliver `.timer(timer)` after `after`.
    case startTimer(ApplianceTimer, after: Duration)
    /// Disarm a timer (a late firing would be ignored anyway).
    case cancelTimer(ApplianceTimer.Kind)
    /// The user asked for a new connection now (wait states: reconnect at once; up: close and
    /// connect again).
    case reconnect
}

/// The machine's figures. Defaults follow the issue and protocol §5.
public struct ApplianceSettings: Sendable, Equatable {
    public var mode: InteractionMode
    /// What may stop an answer (`[session] barge_in`; ApplianceMachine+BargeIn.swift).
    public var bargeIn: BargeInMode
    /// A manual turn shorter than this is dropped (`input_audio_buffer.clear`), not sent.
    public var minTurn: Duration
    /// A manual turn is committed automatically at this length.
    public var maxTurn: Duration
    /// From the commit (or `speech_stopped`) to the first sign of an answer.
    public var responseTimeout: Duration
    /// A response that sends nothing for this long is over (§5.3: its end is not always announced).
    public var answerIdleTimeout: Duration
    /// Extra time, beyond the answer's own length, to wait for `.playbackDrained`.
    public var drainMargin: Duration
    /// How long a turn cut by a lost link waits for the link to be replayed.
    public var replayWindow: Duration
    /// Longest answer accepted; beyond it the response is cancelled (what came plays) and counted.
    public var maxAnswer: Duration
    /// Most answer audio allowed to wait for the speaker (a server sending far faster than real
    /// time); beyond it the response is cancelled the same way. Bounds memory.
    public var maxQueuedAnswer: Duration
    public var longPressAction: ApplianceGestureAction
    public var doublePressAction: ApplianceGestureAction

    public init(mode: InteractionMode = .pushToTalk, bargeIn: BargeInMode = .voice, minTurn: Duration = .milliseconds(150),
                maxTurn: Duration = .seconds(60), responseTimeout: Duration = .seconds(15),
                answerIdleTimeout: Duration = .seconds(5), drainMargin: Duration = .seconds(3),
                replayWindow: Duration = .seconds(20), maxAnswer: Duration = .seconds(300),
                maxQueuedAnswer: Duration = .seconds(120), longPressAction: ApplianceGestureAction = .reconnect,
                doublePressAction: ApplianceGestureAction = .none) {
        self.mode = mode
        self.bargeIn = bargeIn
        self.minTurn = minTurn
        self.maxTurn = maxTurn
        self.responseTimeout = responseTimeout
        self.answerIdleTimeout = answerIdleTimeout
        self.drainMargin = drainMargin
        self.replayWindow = replayWindow
        self.maxAnswer = maxAnswer
        self.maxQueuedAnswer = maxQueuedAnswer
        self.longPressAction = longPressAction
        self.doublePressAction = doublePressAction
    }
}

/// Running totals since start, for `omnid ctl status`.
public struct ApplianceCounters: Sendable, Equatable {
    /// Turns started (button, toggle or VAD speech).
    public var turnsStarted = 0
    /// Turns whose answer was played (or, text-only, received) to the end.
    public var turnsAnswered = 0
    /// Turns that ended with the error earcon (lost link, no response, service error, device lost).
    public var turnsFailed = 0
    /// Turns dropped on purpose: too short, barged into, muted, interrupted, reconnect.
    public var turnsCancelled = 0
    /// Turns resent after a reconnect.
    public var turnsReplayed = 0
    /// Turns whose audio was sent again, whole, to a session that replaced theirs quietly.
    public var turnsResent = 0
    /// Failed turns by cause (their sum is `turnsFailed`).
    public var failures: [TurnFailure: Int] = [:]
    /// Answers cancelled for being longer than `maxAnswer` or far ahead of the speaker.
    public var answersCut = 0
    /// Answers cut short by a press or by new speech.
    public var bargeIns = 0
    /// Presses that could not be served (offline, error, muted).
    public var pressesRefused = 0

    public init() {}
}

/// Why a turn failed (each failure is also one error earcon, one error LED flash, one log line).
public enum TurnFailure: String, Sendable, Equatable, Hashable, CaseIterable {
    /// The link was lost after the service had the turn (nothing to resend).
    case linkLost = "link-lost"
    /// The link did not come back within the replay window.
    case linkDown = "link-down"
    /// No answer within the response timeout.
    case noResponse = "no-response"
    /// The service refused the turn (an error while waiting for the answer).
    case refused
    /// The service refused the turn for its rate limit or quota (then closed the session).
    case rateLimited = "rate-limited"
    /// The answer stopped (or ended unsuccessfully) before any audio.
    case answerStopped = "answer-stopped"
    /// The audio device went away.
    case audioDevice = "audio-device"
    /// The session ended in the middle of the answer.
    case sessionEnded = "session-ended"
    /// VAD: the service never heard the end of the speech.
    case endOfSpeech = "end-of-speech"
}

/// The last turn's latencies (nil until measured).
public struct ApplianceTurnLatencies: Sendable, Equatable {
    /// Release (or toggle-off, or auto-commit) → `input_audio_buffer.commit` handed to the transport.
    public var releaseToCommit: Duration?
    /// Commit → first audio delta of the answer.
    public var commitToFirstDelta: Duration?
    /// First delta → first sample of the answer written to ALSA.
    public var firstDeltaToFirstSample: Duration?

    public init(releaseToCommit: Duration? = nil, commitToFirstDelta: Duration? = nil,
                firstDeltaToFirstSample: Duration? = nil) {
        self.releaseToCommit = releaseToCommit
        self.commitToFirstDelta = commitToFirstDelta
        self.firstDeltaToFirstSample = firstDeltaToFirstSample
    }
}
