// The appliance state machine: one explicit state (ApplianceState), a little bookkeeping for the
// turn in flight, and one transition function, `handle(_:at:)`, that returns the actions to carry
// out. Pure: no I/O, no clock (time comes with every event), confined to the controller loop.
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
//
// Push-to-talk
//   ready + press → listening (stream, record, "listen" earcon, max-turn timer)
//   listening + release → thinking (commit + response.create), or ready with
//     input_audio_buffer.clear if shorter than minTurn; max-turn timer → the same as release.
//   thinking/speaking + press → barge-in: response.cancel + flush + listening at once.
//   connecting/offline/error + press → error earcon + LEDs re-asserted; nothing is queued.
//   muted + press → mute earcon. long press during the turn it started: ignored.
// Toggle
//   ready + tap → listening; listening + tap → thinking (or dropped if too short);
//   thinking/speaking + press → barge-in (the press's own tap is then ignored).
// VAD
//   ready (streaming) + speech_started → listening; + speech_stopped → thinking;
//   speaking + speech_started → barge-in (flush, drop the old answer's deltas) → listening;
//   thinking/speaking + press → interrupt (response.cancel + flush) → ready;
//   ready/listening + tap → muted (stream off, buffer cleared); muted + tap → ready.
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
    public private(set) var link: ApplianceLink = .connecting
    public private(set) var muted = false
    public private(set) var audioAvailable = true
    /// Whether captured audio is being sent (the last of `.startStreaming`/`.stopStreaming`).
    public private(set) var streaming = false
    public private(set) var counters = ApplianceCounters()
    /// Latencies of the most recent turn that was sent (filled in as they become known).
    public private(set) var lastTurnLatencies: ApplianceTurnLatencies?
    /// Whether a turn cut by a lost link waits to be resent.
    public var hasPendingReplay: Bool { pendingReplay != nil }
    /// Whether a turn is in flight (listening, thinking or speaking).
    public var hasTurn: Bool { turn != nil }
    /// The timers currently armed (for tests and diagnostics).
    public var armedTimers: [ApplianceTimer] {
        armed.map { ApplianceTimer($0.key, generation: $0.value) }.sorted { $0.generation < $1.generation }
    }

    // MARK: Bookkeeping

    private enum Origin: Equatable {
        case press, tap, speech, replay
    }

    private struct Turn {
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
    }

    private struct PendingReplay {
        var since: Duration
        var replays: Int
    }

    private var turn: Turn?
    private var pendingReplay: PendingReplay?
    /// Responses requested for turns that were abandoned before `response.created` arrived.
    private var responsesToIgnore = 0
    /// VAD: an answer was stopped before its `response.created`; responses until the end of
    /// the next speech belong to it (the service answers only after speech).
    private var ignoreResponsesUntilSpeech = false
    /// Responses whose events are dropped (cancelled, stale). Bounded.
    private var ignoredResponses: [String] = []
    private var armed: [ApplianceTimer.Kind: UInt64] = [:]
    private var nextGeneration: UInt64 = 1
    private var buttonHeld = false
    /// The current press already did something; its tap must not do more.
    private var pressActed = false
    private var everReady = false
    private var disrupted = false

    private var now: Duration = .zero
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

    // MARK: Link

    private var linkUp: Bool { link == .up }
    /// A turn can be taken now.
    private var canServe: Bool { linkUp && audioAvailable }

    private mutating func linkChanged(_ new: ApplianceLink) {
        link = new
        if new != .connecting && new != .up {
            disrupted = true
            // A new session knows nothing of the old one's responses.
            responsesToIgnore = 0
            ignoredResponses.removeAll()
            ignoreResponsesUntilSpeech = false
        }
        guard turn != nil else {
            settle()
            return
        }
        if new == .up { return }
        linkLostDuringTurn()
    }

    private mutating func linkReady() {
        link = .up
        if pendingReplay != nil, turn == nil, audioAvailable {
            replay()
        } else if turn != nil {
            // An answer that is already all here plays on; VAD streams again.
            syncStreaming()
        } else {
            settle()
            if state == .ready || state == .muted {
                if !everReady || disrupted { emit(.earcon(.ready)) }
                everReady = true
                disrupted = false
            }
        }
    }

    private mutating func linkLostDuringTurn() {
        guard let t = turn else { return }
        if state == .speaking && t.answerEnded {
            // Everything is in the playback ring: let it play, then show the link's state.
            syncStreaming()
            return
        }
        disarmTurnTimers()
        setStreaming(false)
        let captured: Duration
        switch state {
        case .listening: captured = now - t.startedAt
        case .thinking: captured = (t.committedAt ?? now) - t.startedAt
        default: captured = .zero
        }
        let replayable = settings.mode != .vad && t.replays < 2 && (captured >= settings.minTurn || t.origin == .replay)
            && (state == .listening || (state == .thinking && !t.serverHasIt))
        if replayable {
            turn = nil
            pendingReplay = PendingReplay(since: now, replays: t.replays)
            arm(.replay, after: settings.replayWindow)
            emit(.logNotice("link lost during a turn; it will be sent again when the link is back"))
            settle()
        } else {
            if t.audio > .zero { emit(.flushPlayback) }
            failTurn("link lost during a turn; the turn is lost")
        }
    }

    private mutating func replay() {
        guard let p = pendingReplay else { return }
        pendingReplay = nil
        disarm(.replay)
        counters.turnsReplayed += 1
        emit(.clearInputBuffer)
        emit(.replayTurn)
        emit(.commit)
        emit(.createResponse)
        emit(.logNotice("resending the turn cut by the lost link"))
        var t = Turn(origin: .replay, startedAt: now, startedByCurrentPress: false, lastActivity: now)
        t.committedAt = now
        t.responseRequested = true
        t.replays = p.replays + 1
        turn = t
        lastTurnLatencies = ApplianceTurnLatencies(releaseToCommit: nil)
        arm(.response, after: settings.responseTimeout)
        syncStreaming()
        go(to: .thinking)
        everReady = true
        disrupted = false
    }

    // MARK: Button

    private mutating func button(_ b: ButtonEvent) {
        switch b {
        case .press: press()
        case .release: release()
        case .tap: tap()
        case .longPress: longPress()
        case .doublePress: doublePress()
        }
    }

    private mutating func press() {
        buttonHeld = true
        pressActed = false
        if var t = turn {
            t.startedByCurrentPress = false
            turn = t
        }
        guard canServe else {
            if state == .speaking {
                // The link is gone but the answer was playing from the ring: the press stops it.
                emit(.flushPlayback)
                counters.bargeIns += 1
                endTurn(as: .cancelled)
            }
            refusePress()
            return
        }
        switch settings.mode {
        case .pushToTalk:
            switch state {
            case .ready: startTurn(.press)
            case .thinking, .speaking:
                bargeIn()
                startTurn(.press)
            case .muted: refusePress()
            case .listening, .connecting, .offline, .error: break
            }
        case .toggle:
            switch state {
            case .thinking, .speaking:
                bargeIn()
                startTurn(.press)
            case .ready, .listening, .muted, .connecting, .offline, .error: break
            }
        case .vad:
            switch state {
            case .thinking, .speaking:
                stopAnswer(sendCancel: true)
                counters.bargeIns += 1
                endTurn(as: .cancelled)
                pressActed = true
            case .ready, .listening, .muted, .connecting, .offline, .error: break
            }
        }
    }

    private mutating func release() {
        buttonHeld = false
        guard settings.mode == .pushToTalk, state == .listening, let t = turn, t.origin == .press else { return }
        finishCapture()
    }

    private mutating func tap() {
        guard !pressActed else { return }
        pressActed = true
        switch settings.mode {
        case .pushToTalk:
            break
        case .toggle:
            switch state {
            case .ready: startTurn(.tap)
            case .listening: finishCapture()
            case .muted: refusePress()
            case .connecting, .offline, .error: refusePress()
            case .thinking, .speaking: break
            }
        case .vad:
            switch state {
            case .ready, .listening: setMuted(true)
            case .muted: setMuted(false)
            case .connecting, .offline, .error: refusePress()
            case .thinking, .speaking: break
            }
        }
    }

    private mutating func longPress() {
        if state == .listening, let t = turn, t.startedByCurrentPress { return }  // a long utterance
        perform(settings.longPressAction)
    }

    private mutating func doublePress() {
        guard settings.doublePressAction != .none else { return }
        if state == .listening, let t = turn, t.startedByCurrentPress {
            // The second press started a turn; the gesture wins over it.
            setStreaming(false)
            if linkUp { emit(.clearInputBuffer) }
            endTurn(as: .cancelled)
        }
        pressActed = true
        perform(settings.doublePressAction)
    }

    private mutating func refusePress() {
        pressActed = true
        counters.pressesRefused += 1
        if state == .muted {
            emit(.earcon(.mute))
            emit(.logNotice("press ignored: the microphone is muted"))
        } else {
            emit(.earcon(.error))
            emit(.logNotice("press ignored: \(refusalReason)"))
        }
        emit(.setLEDs(state))
    }

    private var refusalReason: String {
        if !audioAvailable { return "the audio device is not available" }
        switch link {
        case .up: return "busy"
        case .connecting: return "still connecting to the service"
        case .down, .stopped: return "offline"
        case .authFailed: return "the service rejected the API key"
        }
    }

    private mutating func perform(_ action: ApplianceGestureAction) {
        switch action {
        case .none: break
        case .mute: setMuted(!muted)
        case .reconnect: reconnect()
        case .interrupt: interrupt()
        }
    }

    private mutating func setMuted(_ on: Bool) {
        guard on != muted else { return }
        muted = on
        pressActed = true
        if on {
            if state == .listening {
                setStreaming(false)
                if linkUp { emit(.clearInputBuffer) }
                endTurn(as: .cancelled)
            }
            emit(.earcon(.mute))
        } else {
            emit(.earcon(.unmute))
        }
        syncStreaming()
        if turn == nil { settle() }
    }

    private mutating func reconnect() {
        let wasSpeaking = state == .speaking
        link = .connecting
        setStreaming(false)
        if turn != nil {
            if wasSpeaking { emit(.flushPlayback) }
            endTurn(as: .cancelled, thenSettle: false)
        }
        emit(.logNotice("reconnecting at the user's request"))
        emit(.reconnect)
        settle()
    }

    private mutating func interrupt() {
        guard state == .thinking || state == .speaking, turn != nil else { return }
        stopAnswer(sendCancel: true)
        counters.bargeIns += 1
        endTurn(as: .cancelled)
    }

    /// Press while an answer is being prepared or played: stop it; the new turn starts next.
    private mutating func bargeIn() {
        stopAnswer(sendCancel: true)
        counters.bargeIns += 1
        endTurn(as: .cancelled, thenSettle: false)
    }

    /// Stops the current answer: `response.cancel` when the service may still be producing it,
    /// flush what is queued for playback, and drop whatever else arrives for it.
    private mutating func stopAnswer(sendCancel: Bool) {
        guard let t = turn else { return }
        let mayBeActive = !t.responseDone && (t.responseRequested || t.responseID != nil)
        if sendCancel && linkUp && mayBeActive { emit(.cancelResponse) }
        if let id = t.responseID {
            ignore(id)
        } else if settings.mode == .vad {
            if t.committedAt != nil { ignoreResponsesUntilSpeech = true }
        } else if t.responseRequested && !t.responseDone && linkUp {
            responsesToIgnore += 1
        }
        if t.audio > .zero || state == .speaking { emit(.flushPlayback) }
    }

    // MARK: Turns

    private mutating func startTurn(_ origin: Origin) {
        counters.turnsStarted += 1
        turn = Turn(origin: origin, startedAt: now, startedByCurrentPress: origin == .press, lastActivity: now)
        if origin == .press || origin == .tap { pressActed = true }
        if settings.mode != .vad {
            setStreaming(true)
            emit(.earcon(.listen))
        }
        arm(.maxTurn, after: settings.maxTurn)
        go(to: .listening)
    }

    /// Manual modes: the user finished speaking (release, tap, or the maximum length).
    private mutating func finishCapture() {
        guard var t = turn, state == .listening, settings.mode != .vad else { return }
        disarm(.maxTurn)
        setStreaming(false)
        let length = now - t.startedAt
        if length < settings.minTurn {
            emit(.clearInputBuffer)
            emit(.earcon(.cancel))
            emit(.logNotice("press of \(Self.ms(length)) ms is shorter than \(Self.ms(settings.minTurn)) ms; nothing sent"))
            endTurn(as: .cancelled)
            return
        }
        emit(.commit)
        emit(.createResponse)
        emit(.earcon(.send))
        t.committedAt = now
        t.responseRequested = true
        t.lastActivity = now
        turn = t
        lastTurnLatencies = ApplianceTurnLatencies(releaseToCommit: .zero)
        arm(.response, after: settings.responseTimeout)
        go(to: .thinking)
    }

    private enum TurnEnd {
        case answered, failed, cancelled
    }

    /// Forgets the turn and returns to the resting state.
    private mutating func endTurn(as end: TurnEnd, thenSettle: Bool = true) {
        switch end {
        case .answered: counters.turnsAnswered += 1
        case .failed: counters.turnsFailed += 1
        case .cancelled: counters.turnsCancelled += 1
        }
        disarmTurnTimers()
        turn = nil
        guard thenSettle else { return }
        syncStreaming()
        settle()
    }

    private mutating func failTurn(_ why: String) {
        emit(.earcon(.error))
        emit(.logNotice(why))
        endTurn(as: .failed)
    }

    private mutating func disarmTurnTimers() {
        for k in [ApplianceTimer.Kind.maxTurn, .response, .answerIdle, .drain] { disarm(k) }
    }

    // MARK: Server

    private mutating func server(_ s: ApplianceServerSignal) {
        switch s {
        case .speechStarted: speechStarted()
        case .speechStopped: speechStopped()
        case .committed:
            if var t = turn, t.committedAt != nil || settings.mode == .vad {
                t.serverHasIt = true
                turn = t
            }
        case .responseCreated(let id): responseCreated(id)
        case .audioDelta(let id, let ms): audioDelta(id, ms: ms)
        case .responseAudioEnded(let id):
            guard accepts(id), state == .thinking || state == .speaking else { return }
            touch()
            if let t = turn, t.audio > .zero { endAnswer() }
        case .responseDone(let id, let status): responseDone(id, status: status)
        case .userTranscript(let text):
            if !text.isEmpty { emit(.logTranscript(.user, text)) }
        case .assistantTranscript(let id, let text):
            guard !text.isEmpty else { return }
            let cut = ignoredResponses.contains(id)
            emit(.logTranscript(.assistant, cut ? text + " [interrupted]" : text))
            if accepts(id) { touch() }
        case .error(_, let message):
            // "Conversation has none active response": our cancel crossed the answer's end (§5.3).
            if message.lowercased().contains("none active response") { return }
            if state == .thinking, let t = turn, t.audio == .zero {
                failTurn("the service refused the turn: \(message)")
            }
        }
    }

    private mutating func speechStarted() {
        guard settings.mode == .vad, streaming else { return }
        switch state {
        case .ready:
            startTurn(.speech)
        case .thinking, .speaking:
            // The service interrupts its own answer (interrupt_response); stop ours at once.
            stopAnswer(sendCancel: false)
            counters.bargeIns += 1
            endTurn(as: .cancelled, thenSettle: false)
            startTurn(.speech)
        case .listening, .connecting, .muted, .offline, .error:
            break
        }
    }

    private mutating func speechStopped() {
        guard settings.mode == .vad, state == .listening, var t = turn else { return }
        // Responses from here on answer this speech, not an interrupted earlier one.
        ignoreResponsesUntilSpeech = false
        disarm(.maxTurn)
        t.committedAt = now
        t.lastActivity = now
        turn = t
        lastTurnLatencies = ApplianceTurnLatencies()
        arm(.response, after: settings.responseTimeout)
        go(to: .thinking)
    }

    private mutating func responseCreated(_ id: String) {
        if responsesToIgnore > 0 && settings.mode != .vad {
            responsesToIgnore -= 1
            ignore(id)
            return
        }
        if settings.mode == .vad && ignoreResponsesUntilSpeech {
            ignore(id)
            return
        }
        if settings.mode == .vad && turn == nil && state == .ready {
            // The service answered without our seeing the speech events: follow it.
            counters.turnsStarted += 1
            var t = Turn(origin: .speech, startedAt: now, startedByCurrentPress: false, lastActivity: now)
            t.committedAt = now
            turn = t
            lastTurnLatencies = ApplianceTurnLatencies()
            go(to: .thinking)
        }
        guard state == .thinking, var t = turn, t.responseID == nil, !ignoredResponses.contains(id) else {
            if state != .thinking && state != .speaking { ignore(id) }
            return
        }
        t.responseID = id
        t.serverHasIt = true
        t.lastActivity = now
        turn = t
        disarm(.response)
        arm(.answerIdle, after: settings.answerIdleTimeout)
    }

    private func accepts(_ id: String) -> Bool {
        guard let t = turn, !ignoredResponses.contains(id) else { return false }
        return t.responseID == nil || id.isEmpty || id == t.responseID
    }

    private mutating func audioDelta(_ id: String, ms: Int) {
        guard state == .thinking || state == .speaking, accepts(id), var t = turn else { return }
        if t.responseID == nil && !id.isEmpty { t.responseID = id }
        t.serverHasIt = true
        emit(.playAudioDelta)
        t.audio += .milliseconds(max(0, ms))
        t.lastActivity = now
        let first = t.firstDeltaAt == nil
        if first {
            t.firstDeltaAt = now
            if var l = lastTurnLatencies, let c = t.committedAt {
                l.commitToFirstDelta = now - c
                lastTurnLatencies = l
            }
        }
        let ended = t.answerEnded
        turn = t
        if first {
            disarm(.response)
            if !ended && armed[.answerIdle] == nil { arm(.answerIdle, after: settings.answerIdleTimeout) }
            go(to: .speaking)
        }
        if ended { armDrain() }  // a straggler after the end: wait for it too
    }

    private mutating func responseDone(_ id: String, status: String?) {
        if let i = ignoredResponses.firstIndex(of: id) {
            ignoredResponses.remove(at: i)
            return
        }
        guard state == .thinking || state == .speaking, accepts(id), var t = turn else { return }
        t.responseDone = true
        turn = t
        if t.audio > .zero {
            endAnswer()
        } else if (status ?? "completed") == "completed" {
            // An answer without audio (text modality): it is in the log; the turn is done.
            endTurn(as: .answered)
        } else {
            failTurn("the service ended the answer with status \(status ?? "-") and no audio")
        }
    }

    private mutating func touch() {
        guard var t = turn else { return }
        t.lastActivity = now
        turn = t
    }

    /// No more audio will come for this answer.
    private mutating func endAnswer() {
        guard var t = turn, !t.answerEnded else { return }
        t.answerEnded = true
        turn = t
        disarm(.answerIdle)
        emit(.endOfAnswer)
        armDrain()
    }

    private mutating func armDrain() {
        guard let t = turn, let first = t.firstDeltaAt else { return }
        let remaining = max(.zero, t.audio - (now - first))
        arm(.drain, after: remaining + settings.drainMargin)
    }

    // MARK: Audio engine

    private mutating func playbackStarted() {
        guard state == .speaking, var t = turn, !t.firstSampleSeen, let first = t.firstDeltaAt else { return }
        t.firstSampleSeen = true
        turn = t
        if var l = lastTurnLatencies {
            l.firstDeltaToFirstSample = now - first
            lastTurnLatencies = l
        }
    }

    private mutating func playbackDrained() {
        guard state == .speaking, let t = turn, t.answerEnded else { return }
        endTurn(as: .answered)
    }

    private mutating func audioDeviceLost() {
        audioAvailable = false
        if pendingReplay != nil {
            pendingReplay = nil
            disarm(.replay)
            counters.turnsFailed += 1
            emit(.earcon(.error))
            emit(.logNotice("audio device lost; the turn waiting for the link is dropped"))
        }
        if turn != nil {
            setStreaming(false)
            if state == .listening && linkUp { emit(.clearInputBuffer) }
            if state == .thinking || state == .speaking { stopAnswer(sendCancel: true) }
            failTurn("audio device lost during a turn")
        } else {
            syncStreaming()
            settle()
        }
    }

    private mutating func audioDeviceBack() {
        audioAvailable = true
        syncStreaming()
        if turn == nil { settle() }
    }

    // MARK: Timers

    private mutating func timer(_ t: ApplianceTimer) {
        guard armed[t.kind] == t.generation else { return }  // stale: cancelled or re-armed
        armed[t.kind] = nil
        switch t.kind {
        case .maxTurn:
            guard state == .listening, turn != nil else { return }
            if settings.mode == .vad {
                // The service's VAD never heard the end of the speech.
                if linkUp { emit(.clearInputBuffer) }
                failTurn("the service did not hear the end of speech within \(Self.ms(settings.maxTurn) / 1000) s")
            } else {
                emit(.logNotice("turn reached \(Self.ms(settings.maxTurn) / 1000) s; sending it"))
                finishCapture()
            }
        case .response:
            guard state == .thinking, turn != nil else { return }
            if linkUp, let tt = turn, tt.responseRequested || tt.responseID != nil { emit(.cancelResponse) }
            failTurn("no answer within \(Self.ms(settings.responseTimeout) / 1000) s")
        case .answerIdle:
            guard let tt = turn, state == .thinking || state == .speaking, !tt.answerEnded else { return }
            let idle = now - tt.lastActivity
            if idle < settings.answerIdleTimeout {
                arm(.answerIdle, after: settings.answerIdleTimeout - idle)
            } else if tt.audio > .zero {
                endAnswer()
            } else {
                if linkUp && !tt.responseDone { emit(.cancelResponse) }
                failTurn("the answer stopped before any audio arrived")
            }
        case .drain:
            guard state == .speaking, let tt = turn, tt.answerEnded else { return }
            emit(.logNotice("playback did not report the end of the answer; assuming it was played"))
            endTurn(as: .answered)
        case .replay:
            guard pendingReplay != nil else { return }
            pendingReplay = nil
            counters.turnsFailed += 1
            emit(.earcon(.error))
            emit(.logNotice("the link did not come back within \(Self.ms(settings.replayWindow) / 1000) s; the turn is lost"))
        }
    }

    private mutating func arm(_ kind: ApplianceTimer.Kind, after delay: Duration) {
        let g = nextGeneration
        nextGeneration += 1
        armed[kind] = g
        emit(.startTimer(ApplianceTimer(kind, generation: g), after: max(.zero, delay)))
    }

    private mutating func disarm(_ kind: ApplianceTimer.Kind) {
        guard armed.removeValue(forKey: kind) != nil else { return }
        emit(.cancelTimer(kind))
    }

    // MARK: State and streaming

    /// Where the machine rests when no turn is in flight.
    public var restingState: ApplianceState {
        if !audioAvailable { return .error }
        switch link {
        case .authFailed: return .error
        case .down, .stopped: return .offline
        case .connecting: return .connecting
        case .up: return muted ? .muted : .ready
        }
    }

    /// Without a turn: go to the resting state (and stream in VAD mode when ready).
    private mutating func settle() {
        guard turn == nil else { return }
        syncStreaming()
        go(to: restingState)
    }

    private var wantsStreaming: Bool {
        switch settings.mode {
        case .vad: return linkUp && audioAvailable && !muted
        case .pushToTalk, .toggle: return state == .listening && turn != nil && canServe
        }
    }

    private mutating func syncStreaming() {
        setStreaming(settings.mode == .vad ? wantsStreaming : (streaming && wantsStreaming))
    }

    private mutating func setStreaming(_ on: Bool) {
        guard on != streaming else { return }
        if on && !canServe { return }
        streaming = on
        emit(on ? .startStreaming(record: settings.mode != .vad) : .stopStreaming)
    }

    private mutating func go(to new: ApplianceState) {
        guard new != state else { return }
        state = new
        emit(.setLEDs(new))
    }

    private mutating func ignore(_ id: String) {
        guard !id.isEmpty, !ignoredResponses.contains(id) else { return }
        ignoredResponses.append(id)
        if ignoredResponses.count > 16 { ignoredResponses.removeFirst(ignoredResponses.count - 16) }
    }

    private mutating func emit(_ a: ApplianceAction) {
        out.append(a)
    }

    static func ms(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
