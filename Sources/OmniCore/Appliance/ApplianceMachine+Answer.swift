// The service's side of a turn: routing server signals, following the response that answers
// the turn (and dropping any other), and the answer's playback up to the drained speaker.

extension ApplianceMachine {
    mutating func server(_ s: ApplianceServerSignal) {
        switch s {
        case .speechStarted: speechStarted()
        case .speechStopped: speechStopped()
        case .committed:
            if var t = turn, t.onLink, t.committedAt != nil || settings.mode == .vad {
                t.serverHasIt = true
                turn = t
            }
        case .responseCreated(let id, let stale):
            if stale {
                ignore(id)
            } else {
                responseCreated(id)
            }
        case .audioDelta(let id, let ms, let base64): audioDelta(id, ms: ms, base64: base64)
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
            if state == .thinking, let t = turn, t.onLink, t.audio == .zero {
                failTurn("the service refused the turn: \(message)", .refused)
            }
        case .rateLimited(let message):
            // Only a turn waiting for its answer was refused; one still being spoken is held and
            // re-sent by the link loss that follows, like any other cut turn.
            if state == .thinking, let t = turn, t.onLink, t.audio == .zero {
                failTurn("the service refused the turn for its rate limit: \(message)", .rateLimited)
            }
        }
    }

    mutating func responseCreated(_ id: String) {
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
            if answerMutesUplink { syncStreaming() }
        }
        guard state == .thinking, var t = turn, t.onLink, t.responseID == nil, !ignoredResponses.contains(id) else {
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

    /// Whether an event of response `id` belongs to the turn's answer. A turn held for a new
    /// session has no answer yet: whatever arrives meanwhile is the old session's.
    func accepts(_ id: String) -> Bool {
        guard let t = turn, t.onLink, !ignoredResponses.contains(id) else { return false }
        return t.responseID == nil || id.isEmpty || id == t.responseID
    }

    /// A delta of the answer is played (the action carries its audio); any other is dropped.
    mutating func audioDelta(_ id: String, ms: Int, base64: String) {
        guard state == .thinking || state == .speaking, accepts(id), var t = turn else { return }
        if t.responseID == nil && !id.isEmpty { t.responseID = id }
        let length = t.audio + .milliseconds(max(0, ms))
        let ahead = length - (t.firstDeltaAt.map { now - $0 } ?? .zero)
        if t.audio > .zero && (length > settings.maxAnswer || ahead > settings.maxQueuedAnswer) {
            turn = t
            cutAnswer(t.responseID ?? id, why: length > settings.maxAnswer
                ? "the answer is longer than \(Self.ms(settings.maxAnswer) / 1000) s"
                : "the service sends the answer far faster than it plays (\(Self.ms(ahead) / 1000) s ahead)")
            return
        }
        t.serverHasIt = true
        emit(.playAudioDelta(base64: base64))
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

    mutating func responseDone(_ id: String, status: String?) {
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
            failTurn("the service ended the answer with status \(status ?? "-") and no audio", .answerStopped)
        }
    }

    mutating func touch() {
        guard var t = turn else { return }
        t.lastActivity = now
        turn = t
    }

    /// An answer over the bounds: cancelled, what arrived plays to its end, the rest is dropped.
    mutating func cutAnswer(_ id: String, why: String) {
        counters.answersCut += 1
        if linkUp { emit(.cancelResponse) }
        ignore(id)
        emit(.logNotice("\(why); the rest of it is cancelled"))
        endAnswer()
    }

    /// No more audio will come for this answer.
    mutating func endAnswer() {
        guard var t = turn, !t.answerEnded else { return }
        t.answerEnded = true
        turn = t
        disarm(.answerIdle)
        emit(.endOfAnswer)
        armDrain()
    }

    mutating func armDrain() {
        guard let t = turn, let first = t.firstDeltaAt else { return }
        let remaining = max(.zero, t.audio - (now - first))
        arm(.drain, after: remaining + settings.drainMargin)
    }

    mutating func playbackStarted() {
        guard state == .speaking, var t = turn, !t.firstSampleSeen, let first = t.firstDeltaAt else { return }
        t.firstSampleSeen = true
        turn = t
        if var l = lastTurnLatencies {
            l.firstDeltaToFirstSample = now - first
            lastTurnLatencies = l
        }
    }

    mutating func playbackDrained() {
        guard state == .speaking, let t = turn, t.answerEnded else { return }
        endTurn(as: .answered)
    }
}
