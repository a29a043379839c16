// A turn's life: starting it (press, tap, speech), finishing the capture (release, tap, maximum
// length, end of speech), and ending it as answered, failed or cancelled.

extension ApplianceMachine {
    mutating func startTurn(_ origin: Origin) {
        counters.turnsStarted += 1
        turn = Turn(origin: origin, startedAt: now, startedByCurrentPress: origin == .press, lastActivity: now)
        if origin == .press || origin == .tap { pressActed = true }
        if settings.mode != .vad {
            setStreaming(true)
            if link == .renewing {
                // The session is being replaced: the turn's audio waits for the new one.
                turn?.onLink = false
                emit(.holdCapture)
            }
            emit(.earcon(.listen))
        }
        if origin == .speech { emit(.recordUtterance(true)) }
        arm(.maxTurn, after: settings.maxTurn)
        go(to: .listening)
    }

    /// Manual modes: the user finished speaking (release, tap, or the maximum length).
    mutating func finishCapture() {
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
        if t.onLink {
            emit(.commit)
            emit(.createResponse)
            t.responseRequested = true
        }  // else: the new session gets the whole turn, then commit + create (resendHeldTurn)
        emit(.earcon(.send))
        t.committedAt = now
        t.lastActivity = now
        turn = t
        lastTurnLatencies = ApplianceTurnLatencies(releaseToCommit: .zero)
        arm(.response, after: settings.responseTimeout)
        go(to: .thinking)
    }

    enum TurnEnd {
        case answered, failed, cancelled
    }

    /// Forgets the turn and returns to the resting state.
    mutating func endTurn(as end: TurnEnd, thenSettle: Bool = true, counted: Bool = false) {
        switch end {
        case .answered: counters.turnsAnswered += 1
        case .failed: if !counted { counters.turnsFailed += 1 }
        case .cancelled: counters.turnsCancelled += 1
        }
        disarmTurnTimers()
        if settings.mode == .vad && state == .listening { emit(.recordUtterance(false)) }
        turn = nil
        guard thenSettle else { return }
        syncStreaming()
        settle()
    }

    mutating func failTurn(_ why: String, _ cause: TurnFailure) {
        countFailure(cause, why)
        endTurn(as: .failed, counted: true)
    }

    /// A failure the user must notice: error earcon, error LED flash, one log line, counted.
    mutating func countFailure(_ cause: TurnFailure, _ why: String) {
        counters.turnsFailed += 1
        counters.failures[cause, default: 0] += 1
        emit(.earcon(.error))
        emit(.flashLEDs(.error))
        emit(.logNotice("\(why) [turn failed: \(cause.rawValue)]"))
    }

    mutating func disarmTurnTimers() {
        for k in [ApplianceTimer.Kind.maxTurn, .response, .answerIdle, .drain] { disarm(k) }
    }

    mutating func speechStarted() {
        guard settings.mode == .vad, streaming else { return }
        switch state {
        case .ready:
            startTurn(.speech)
        case .thinking, .speaking:
            // Only a voice barge-in takes speech over the answer; otherwise the uplink is off
            // for the answer and this is speech the service heard just before it went off.
            guard settings.bargeIn == .voice else { return }
            // The service may interrupt its own answer (interrupt_response), but that is its
            // setting, not ours: cancel too (the session manager sends it only while a response
            // is active; crossing the service's own stop costs a "none active response" error,
            // which is ignored), as the SDK's client does (barge_in.jsonl).
            stopAnswer(sendCancel: true)
            counters.bargeIns += 1
            endTurn(as: .cancelled, thenSettle: false)
            startTurn(.speech)
        case .listening, .connecting, .muted, .offline, .error:
            break
        }
    }

    mutating func speechStopped() {
        // A held utterance's end can only come from the new session, after it has it all.
        guard settings.mode == .vad, state == .listening, var t = turn, t.onLink else { return }
        // Responses from here on answer this speech, not an interrupted earlier one.
        ignoreResponsesUntilSpeech = false
        emit(.recordUtterance(false))
        disarm(.maxTurn)
        t.committedAt = now
        t.lastActivity = now
        turn = t
        lastTurnLatencies = ApplianceTurnLatencies()
        arm(.response, after: settings.responseTimeout)
        go(to: .thinking)
        if answerMutesUplink { syncStreaming() }  // barge_in button/off: the uplink rests for the answer
    }
}
