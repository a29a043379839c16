// Stopping an answer that is being prepared or played: by a press (barge-in), by the interrupt
// gesture, or by new speech. The stopped response's later events must not leak into the next
// turn, so this is also where responses are marked to be ignored.

extension ApplianceMachine {
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
