import OmniCore
import OmniLinux

// Reading the service's answer in batches (ReceivePacing, OmniCore): with a button, once enough
// answer audio is queued for the speaker, the socket is left unread for a while and what came
// meanwhile is read in one wake-up. Never in `vad` mode (the service's voice detection must be
// heard at once); anything that wants the service's reply soon ends a hold at once.
//
// A press during a hold, or while what piled up during one is still being read, waits until
// that has been read: the answer may have ended on the service (its `response.done` unread), and
// a barge-in decided on the stale view would cancel a response that no longer exists (the
// service's "none active response" error). Reading it is a wake-up or two of back-to-back
// reads, well under a millisecond on this VM; a server that sends faster than omnid reads (a
// flood) never lets the socket empty, so a press waits `pressWaitLimit` at most. The presses and
// releases that come meanwhile keep their order.

extension Daemon {
    /// The longest a press waits for the socket to be read.
    static let pressWaitLimit = Duration.milliseconds(250)

    /// After an answer delta was queued for the speaker.
    func paceReceiving() {
        guard config.session.mode != .vad,
              let hold = receivePacing.answerAudioQueued(queuedMs: audio.queuedPlaybackMs)
        else { return }
        receiveHold += 1
        let generation = receiveHold
        session.holdReceiving(true)
        loop.after(hold) { [weak self] in
            guard let self, self.receiveHold == generation else { return }
            self.releaseReceiving()
        }
    }

    /// Reads the socket again now and catches up with what piled up (no-op without a hold).
    func releaseReceiving() {
        guard receivePacing.release() else { return }
        receiveHold += 1
        session.afterReceivedAll { [weak self] in
            guard let self else { return }
            self.receivePacing.caughtUp()
            self.handOverWaitingButtons()
        }
    }

    /// A button event during a hold or its catch-up (or while earlier ones wait): kept until what
    /// the service sent has been read, then handed over in order. False: handle it now.
    func deferUntilReceived(_ button: ButtonEvent) -> Bool {
        if buttonsAwaitingReceive != nil {
            buttonsAwaitingReceive?.append(button)
            return true
        }
        guard receivePacing.phase != .reading else { return false }
        buttonsAwaitingReceive = [button]
        releaseReceiving()
        loop.after(Self.pressWaitLimit) { [weak self] in self?.handOverWaitingButtons() }
        return true
    }

    private func handOverWaitingButtons() {
        guard let kept = buttonsAwaitingReceive else { return }
        buttonsAwaitingReceive = nil
        for b in kept { handle(b) }
    }
}

extension ApplianceAction {
    /// The user did something the service will answer (a new turn, a cancel, a flush), or the
    /// link is being replaced: a hold on reading ends here.
    var wantsServiceReplySoon: Bool {
        switch self {
        case .startStreaming, .stopStreaming, .commit, .createResponse, .cancelResponse, .clearInputBuffer,
             .replayTurn, .flushPlayback, .reconnect:
            true
        case .holdCapture, .recordUtterance, .playAudioDelta, .endOfAnswer, .earcon, .setLEDs, .flashLEDs,
             .logTranscript, .logNotice, .startTimer, .cancelTimer:
            false
        }
    }
}
