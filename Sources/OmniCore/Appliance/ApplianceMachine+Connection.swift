// The link and the audio devices: what the machine does when the session manager reports the
// link's state, when the user asks for a new connection, and when the audio device comes and
// goes. A turn cut by a lost link is kept here for replay when that is safe; a turn under a
// session that is being replaced quietly (renewing) is held and re-sent to the new one.

extension ApplianceMachine {
    var linkUp: Bool { link == .up }
    /// The link takes turns: up, or being replaced quietly (their audio then waits for it).
    var linkServes: Bool { link == .up || link == .renewing }
    /// A turn can be taken now.
    var canServe: Bool { linkServes && audioAvailable }

    mutating func linkChanged(_ new: ApplianceLink) {
        link = new
        if new != .connecting && new != .up {
            disrupted = true
            // A new session knows nothing of the old one's responses.
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

    mutating func linkReady() {
        link = .up
        if pendingReplay != nil, turn == nil, audioAvailable {
            replay()
        } else if let t = turn, !t.onLink {
            resendHeldTurn()
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

    mutating func linkLostDuringTurn() {
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
            failTurn("link lost during a turn; the turn is lost", .linkLost)
        }
    }

    /// The session is being replaced quietly (the service's idle close or session cap, or a
    /// reload): nothing the user can see changes. The new session knows nothing of this one, so a
    /// manual turn whose answer has not started is held and re-sent whole when it is ready.
    mutating func linkRenewing() {
        // Only a session that is up is renewed; anything else is already a (re)connect.
        guard link == .up else { return }
        link = .renewing
        ignoredResponses.removeAll()
        ignoreResponsesUntilSpeech = false
        guard var t = turn else {
            settle()
            return
        }
        switch state {
        case .listening:
            // Hands-free too: the new session's VAD must hear the utterance from its start.
            if t.onLink {
                t.onLink = false
                turn = t
                emit(.holdCapture)
            }
        case .thinking where settings.mode != .vad && t.audio == .zero:
            // Asked for or not, no answer will come from the old session: ask the new one.
            t.onLink = false
            t.responseRequested = false
            t.responseID = nil
            t.serverHasIt = false
            turn = t
            disarm(.answerIdle)
        case .speaking where t.answerEnded:
            break  // everything is in the playback ring
        case .thinking, .speaking:
            if t.audio > .zero { emit(.flushPlayback) }
            failTurn("the session ended in the middle of the answer", .sessionEnded)
        default:
            break
        }
    }

    /// The new session is ready: the held turn goes to it whole (then, if the capture is over,
    /// commit + response.create); live audio follows the recording.
    mutating func resendHeldTurn() {
        guard var t = turn, !t.onLink else { return }
        t.onLink = true
        counters.turnsResent += 1
        emit(.clearInputBuffer)
        emit(.replayTurn)
        if state == .thinking && settings.mode != .vad {
            emit(.commit)
            emit(.createResponse)
            t.responseRequested = true
            t.lastActivity = now
            arm(.response, after: settings.responseTimeout)
        }
        turn = t
        emit(.logNotice("the session was renewed during a turn; its audio went to the new one"))
    }

    mutating func replay() {
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

    mutating func reconnect() {
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

    mutating func audioDeviceLost() {
        audioAvailable = false
        if pendingReplay != nil {
            pendingReplay = nil
            disarm(.replay)
            countFailure(.audioDevice, "audio device lost; the turn waiting for the link is dropped")
        }
        if turn != nil {
            setStreaming(false)
            if state == .listening && linkUp { emit(.clearInputBuffer) }
            if state == .thinking || state == .speaking { stopAnswer(sendCancel: true) }
            failTurn("audio device lost during a turn", .audioDevice)
        } else {
            syncStreaming()
            settle()
        }
    }

    mutating func audioDeviceBack() {
        audioAvailable = true
        syncStreaming()
        if turn == nil { settle() }
    }
}
