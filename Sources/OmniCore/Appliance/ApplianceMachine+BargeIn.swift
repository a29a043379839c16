// Stopping an answer that is being prepared or played: by a press (barge-in), by the interrupt
// gesture, or by new speech. The stopped response's later events must not leak into the next
// turn, so this is also where responses are marked to be ignored.
//
// `[session] barge_in` says what may stop an answer:
//   voice   the button, and in `vad` mode the user's voice: `speech_started` while thinking or
//           speaking stops the answer (response.cancel when a response is active, flush) and
//           starts listening. In push-to-talk and toggle the microphone is sent only while the
//           button says so, so there voice is the same as button.
//   button  only the button. In `vad` mode the microphone is not sent from `speech_stopped`
//           until the answer has ended: the service's own VAD (interrupt_response, which is its
//           default) would otherwise take speech, or the answer's echo, for a new turn and stop
//           the answer itself, which is exactly what this setting says must not happen. What is
//           said meanwhile is not heard; the service is sent audio again once the box is ready.
//   off     nothing: a press while thinking or speaking is refused (error earcon, notice, as a
//           press the box cannot serve), the uplink rests as with button. The `interrupt`
//           gesture (long or double press, board file) still stops the answer: it is an
//           explicit "stop", not the start of a new question.

extension ApplianceMachine {
    /// `vad` mode with barge_in button/off: the answer phase of a turn (its speech has ended)
    /// sends no audio, so the service cannot hear a barge-in the setting forbids.
    var answerMutesUplink: Bool {
        settings.bargeIn != .voice && turn?.committedAt != nil
    }

    /// The interrupt gesture: stop the answer and go back to rest (no new turn).
    mutating func interrupt() {
        guard state == .thinking || state == .speaking, turn != nil else { return }
        stopAnswer(sendCancel: true)
        counters.bargeIns += 1
        endTurn(as: .cancelled)
    }

    /// Press while an answer is being prepared or played: stop it; the new turn starts next.
    mutating func bargeIn() {
        stopAnswer(sendCancel: true)
        counters.bargeIns += 1
        endTurn(as: .cancelled, thenSettle: false)
    }

    /// Stops the current answer: `response.cancel` when the service may still be producing it,
    /// flush what is queued for playback, and drop whatever else arrives for it.
    mutating func stopAnswer(sendCancel: Bool) {
        guard let t = turn else { return }
        let mayBeActive = !t.responseDone && (t.responseRequested || t.responseID != nil)
        if sendCancel && linkUp && mayBeActive { emit(.cancelResponse) }
        if let id = t.responseID {
            ignore(id)
        } else if settings.mode == .vad {
            if t.committedAt != nil { ignoreResponsesUntilSpeech = true }
        }
        // Manual modes: a response asked for but not yet created is not counted here (a count
        // goes stale when that response never comes and then swallows the next answer). The
        // session manager withdraws or cancels it and reports its `response.created`, should it
        // come after the next request, as stale; before that request it arrives while no turn
        // is thinking, and is ignored as any unasked-for response.
        if t.audio > .zero || state == .speaking { emit(.flushPlayback) }
    }

    /// Drops the later events of response `id`. Only the last few are kept: a response that
    /// old has long stopped sending.
    mutating func ignore(_ id: String) {
        guard !id.isEmpty, !ignoredResponses.contains(id) else { return }
        ignoredResponses.append(id)
        if ignoredResponses.count > 16 { ignoredResponses.removeFirst(ignoredResponses.count - 16) }
    }
}
