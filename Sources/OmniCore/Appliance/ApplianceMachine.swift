// The appliance state machine: one explicit state (ApplianceState), a little bookkeeping for the
// turn in flight, and one transition function, `handle(_:at:)`, that returns the actions to carry
// out. Pure: no I/O, no clock (time comes with every event), confined to the controller loop.
//
// This file holds the state, the bookkeeping and the entry point that routes each event to its
// concern; the transitions themselves live next to it, one concern per file:
//   ApplianceMachine+Connection.swift  link and audio-device changes, replay after a lost link
//   ApplianceMachine+Button.swift      press, release, tap and the gesture actions
//   ApplianceMachine+Turn.swift        starting, finishing and ending a turn (VAD speech too)
//   ApplianceMachine+Answer.swift      server signals: the response, its audio, playback
//   ApplianceMachine+BargeIn.swift     stopping an answer and ignoring what is left of it
//   ApplianceMachine+Timers.swift      arming, disarming and firing the machine's timers
// The bookkeeping is internal rather than private only so that those files can reach it.
//
// Summary of the transition table (every state × every event is covered by
// Tests/OmniCoreTests/ApplianceTransitionTableTests.swift):
//
// Link (all modes)
//   connecting/ready/muted/offline/error + link event → the resting state for the new link:
//     up → ready (muted if muted) [+ "ready" earcon after an outage / at boot; VAD: stream];
//     connecting → connecting; lost/stopped → offline; auth failed → error; audio gone → error.
//   listening/thinking + link lost → the turn is kept for replay (manual modes, audio not yet
//     confirmed by the service, at least minTurn long) → offline; else error earcon → offline.
//   speaking + link lost → keeps playing if the whole answer is already here, else flush +
//     error earcon → offline.
//   offline with a kept turn + link ready → clear + replay + commit + response.create → thinking.
//   any state + link renewing (the service's routine close, or our renewal ahead of it) → no
//     change the user can see: presses are taken; a manual turn's audio is held (`.holdCapture`)
//     and sent whole to the new session when it is ready (clear + replay [+ commit + create]);
//     a turn whose answer had not started is re-sent the same way. Only an answer cut in the
//     middle fails (the renewal waits for turns to end, so only the service's hard cap can do it).
//
// Push-to-talk
//   ready + press → listening (stream, record, "listen" earcon, max-turn timer)
//   listening + release → thinking (commit + response.create), or ready with
//     input_audio_buffer.clear if shorter than minTurn; max-turn timer → the same as release.
//   thinking/speaking + press → barge-in: response.cancel + flush + listening at once (the
//     session manager holds the next response.create until the cancelled response has ended and
//     marks a late `response.created` of it stale).
//   connecting/offline/error + press → error earcon + LEDs re-asserted; nothing is queued.
//   muted + press → mute earcon. long press during the turn it started: ignored.
// Toggle
//   ready + tap → listening; listening + tap → thinking (or dropped if too short);
//   thinking/speaking + press → barge-in (the press's own tap is then ignored).
// VAD
//   ready (streaming) + speech_started → listening; + speech_stopped → thinking;
//   thinking/speaking + speech_started → barge-in with barge_in = voice (response.cancel when a
//     response is active, flush with a fade, drop the old answer's deltas) → listening;
//     with button/off it is ignored, and the microphone is not sent from speech_stopped until
//     the answer has ended (so the service's own VAD cannot start a turn over the answer);
//   thinking/speaking + press → interrupt (response.cancel + flush) → ready;
//   ready/listening + tap → muted (stream off, buffer cleared); muted + tap → ready.
// barge_in = off (all modes): thinking/speaking + press → refused (error earcon, notice);
//   the answer plays to its end. The interrupt gesture still stops it.
// Answers (all modes)
//   thinking + first accepted audio delta → speaking; answer end (audio done, output item done,
//   response.done or answerIdle) → endOfAnswer; speaking + playback drained → ready.
//   No response within responseTimeout, a service error while waiting, a failed response, the
//   audio device lost → error earcon, the turn ends. Deltas of cancelled answers are dropped.
// Long press / double press → the configured action (mute, reconnect, interrupt) in every state.

public struct ApplianceMachine: Sendable {
    public let settings: ApplianceSettings

    // MARK: Observable state

    public private(set) var state: ApplianceState = .connecting
    public internal(set) var link: ApplianceLink = .connecting
    public internal(set) var muted = false
    public internal(set) var audioAvailable = true
    /// Whether captured audio is being sent (the last of `.startStreaming`/`.stopStreaming`).
    public private(set) var streaming = false
    public internal(set) var counters = ApplianceCounters()
    /// Latencies of the most recent turn that was sent (filled in as they become known).
    public internal(set) var lastTurnLatencies: ApplianceTurnLatencies?
    /// Whether a turn cut by a lost link waits to be resent.
    public var hasPendingReplay: Bool { pendingReplay != nil }
    /// Whether a turn is in flight (listening, thinking or speaking).
    public var hasTurn: Bool { turn != nil }
    /// The timers currently armed (for tests and diagnostics).
    public var armedTimers: [ApplianceTimer] {
        armed.map { ApplianceTimer($0.key, generation: $0.value) }.sorted { $0.generation < $1.generation }
    }

    // MARK: Bookkeeping

    enum Origin: Equatable {
        case press, tap, speech, replay
    }

    struct Turn {
        var origin: Origin
        var startedAt: Duration
        /// Started by the press that is (or was last) down; its long press is not a gesture.
        var startedByCurrentPress: Bool
        /// When the turn's audio was committed (manual) or the service heard its end (VAD).
        var committedAt: Duration?
        /// The service confirmed it has the audio (`committed`, or a response started).
        var serverHasIt = false
        /// Manual modes: `response.create` was sent for this turn.
        var responseRequested = false
        /// The response that answers this turn (nil until `response.created` or its first delta).
        var responseID: String?
        var responseDone = false
        var firstDeltaAt: Duration?
        var firstSampleSeen = false
        /// Length of the answer's audio accepted so far.
        var audio: Duration = .zero
        /// `.endOfAnswer` was emitted.
        var answerEnded = false
        var lastActivity: Duration
        /// How many times this turn has been resent.
        var replays = 0
        /// Whether the session has everything of this turn sent so far; false once the session
        /// was replaced under it (its audio is then held, and re-sent when the new one is ready).
        var onLink = true
    }

    struct PendingReplay {
        var since: Duration
        var replays: Int
    }

    var turn: Turn?
    var pendingReplay: PendingReplay?
    /// VAD: an answer was stopped before its `response.created`; responses until the end of
    /// the next speech belong to it (the service answers only after speech).
    var ignoreResponsesUntilSpeech = false
    /// Responses whose events are dropped (cancelled, stale). Bounded.
    var ignoredResponses: [String] = []
    var armed: [ApplianceTimer.Kind: UInt64] = [:]
    var nextGeneration: UInt64 = 1
    var buttonHeld = false
    /// The current press already did something; its tap must not do more.
    var pressActed = false
    var everReady = false
    var disrupted = false

    /// The time of the event being handled.
    private(set) var now: Duration = .zero
    /// The actions of the event being handled, in order (see `emit`).
    private var out: [ApplianceAction] = []

    public init(settings: ApplianceSettings) {
        self.settings = settings
    }

    // MARK: The transition function

    /// Handles one event at monotonic time `now`; returns the actions to carry out, in order.
    public mutating func handle(_ event: ApplianceEvent, at now: Duration) -> [ApplianceAction] {
        self.now = now
        out = []
        switch event {
        case .linkConnecting: linkChanged(.connecting)
        case .linkReady: linkReady()
        case .linkRenewing: linkRenewing()
        case .linkLost: linkChanged(.down)
        case .linkAuthFailed: linkChanged(.authFailed)
        case .linkStopped: linkChanged(.stopped)
        case .button(let b): button(b)
        case .server(let s): server(s)
        case .playbackStarted: playbackStarted()
        case .playbackDrained: playbackDrained()
        case .audioDeviceLost: audioDeviceLost()
        case .audioDeviceBack: audioDeviceBack()
        case .timer(let t): timer(t)
        }
        let actions = out
        out = []
        return actions
    }

    /// The controller can tell when the commit actually left (handed to the transport); without
    /// it, release→commit is measured to the moment `.commit` was asked for.
    public mutating func noteCommitSent(at time: Duration) {
        guard var l = lastTurnLatencies, let t = turn, let c = t.committedAt, t.origin != .speech else { return }
        l.releaseToCommit = max(.zero, time - c)
        lastTurnLatencies = l
    }

    // MARK: State and streaming

    /// Where the machine rests when no turn is in flight.
    public var restingState: ApplianceState {
        if !audioAvailable { return .error }
        switch link {
        case .authFailed: return .error
        case .down, .stopped: return .offline
        case .connecting: return .connecting
        case .up, .renewing: return muted ? .muted : .ready
        }
    }

    /// Without a turn: go to the resting state (and stream in VAD mode when ready).
    mutating func settle() {
        guard turn == nil else { return }
        syncStreaming()
        go(to: restingState)
    }

    var wantsStreaming: Bool {
        switch settings.mode {
        case .vad: return linkServes && audioAvailable && !muted && !answerMutesUplink
        case .pushToTalk, .toggle: return state == .listening && turn != nil && canServe
        }
    }

    mutating func syncStreaming() {
        setStreaming(settings.mode == .vad ? wantsStreaming : (streaming && wantsStreaming))
    }

    mutating func setStreaming(_ on: Bool) {
        guard on != streaming else { return }
        if on && !canServe { return }
        streaming = on
        emit(on ? .startStreaming(record: settings.mode != .vad) : .stopStreaming)
    }

    mutating func go(to new: ApplianceState) {
        guard new != state else { return }
        state = new
        emit(.setLEDs(new))
    }

    mutating func emit(_ a: ApplianceAction) {
        out.append(a)
    }

    static func ms(_ d: Duration) -> Int64 {
        d.wholeMilliseconds
    }
}
