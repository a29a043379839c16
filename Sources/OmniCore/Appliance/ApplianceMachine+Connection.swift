// The link and the audio devices: what the machine does when the session manager reports the
// link's state, when the user asks for a new connection, and when the audio device comes and
// goes. A turn cut by a lost link is kept here for replay when that is safe.

extension ApplianceMachine {
    var linkUp: Bool { link == .up }
    /// A turn can be taken now.
    var canServe: Bool { linkUp && audioAvailable }

    mutating func linkChanged(_ new: ApplianceLink) {
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

    mutating func linkReady() {
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
            failTurn("link lost during a turn; the turn is lost")
        }
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

    mutating func audioDeviceBack() {
        audioAvailable = true
        syncStreaming()
        if turn == nil { settle() }
    }
}
