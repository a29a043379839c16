// The machine's timers. It has no clock of its own: it asks the controller to arm a timer and
// gets `.timer` back. Each arming gets a new generation, so a firing that raced a cancel or a
// re-arm is recognised as stale and ignored.

extension ApplianceMachine {
    mutating func timer(_ t: ApplianceTimer) {
        guard armed[t.kind] == t.generation else { return }  // stale: cancelled or re-armed
        armed[t.kind] = nil
        switch t.kind {
        case .maxTurn:
            guard state == .listening, turn != nil else { return }
            if settings.mode == .vad {
                // The service's VAD never heard the end of the speech.
                if linkUp { emit(.clearInputBuffer) }
                failTurn("the service did not hear the end of speech within \(Self.ms(settings.maxTurn) / 1000) s", .endOfSpeech)
            } else {
                emit(.logNotice("turn reached \(Self.ms(settings.maxTurn) / 1000) s; sending it"))
                finishCapture()
            }
        case .response:
            guard state == .thinking, turn != nil else { return }
            if linkUp, let tt = turn, tt.responseRequested || tt.responseID != nil { emit(.cancelResponse) }
            failTurn("no answer within \(Self.ms(settings.responseTimeout) / 1000) s", .noResponse)
        case .answerIdle:
            guard let tt = turn, state == .thinking || state == .speaking, !tt.answerEnded else { return }
            let idle = now - tt.lastActivity
            if idle < settings.answerIdleTimeout {
                arm(.answerIdle, after: settings.answerIdleTimeout - idle)
            } else if tt.audio > .zero {
                endAnswer()
            } else {
                if linkUp && !tt.responseDone { emit(.cancelResponse) }
                failTurn("the answer stopped before any audio arrived", .answerStopped)
            }
        case .drain:
            guard state == .speaking, let tt = turn, tt.answerEnded else { return }
            emit(.logNotice("playback did not report the end of the answer; assuming it was played"))
            endTurn(as: .answered)
        case .replay:
            guard pendingReplay != nil else { return }
            pendingReplay = nil
            countFailure(.linkDown, "the link did not come back within \(Self.ms(settings.replayWindow) / 1000) s; the turn is lost")
        }
    }

    mutating func arm(_ kind: ApplianceTimer.Kind, after delay: Duration) {
        let g = nextGeneration
        nextGeneration += 1
        armed[kind] = g
        emit(.startTimer(ApplianceTimer(kind, generation: g), after: max(.zero, delay)))
    }

    mutating func disarm(_ kind: ApplianceTimer.Kind) {
        guard armed.removeValue(forKey: kind) != nil else { return }
        emit(.cancelTimer(kind))
    }
}
