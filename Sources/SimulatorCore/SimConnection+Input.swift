import RealtimeProtocol

// The input buffer: appends (with server VAD), commit and clear (protocol §3.2–3.4, §5); images
// are in SimConnection+Images.swift.
extension SimConnection {
    /// Ten minutes of 16 kHz audio; older audio of an uncommitted manual buffer is dropped.
    static let maxManualBufferSamples = 16_000 * 600

    func append(_ base64: String, now: Duration, into out: inout [SimAction]) {
        guard let samples = PCM16.samples(fromBase64: base64) else {
            out.append(error(SimError.badAudio))
            return
        }
        guard !samples.isEmpty else { return }
        buffer.append(samples)
        hasAudioSinceCommit = true
        guard vad != nil, let td = state.turnDetection else {
            // Manual mode: a client that never commits must not grow the buffer without bound.
            buffer.drop(before: buffer.end - Self.maxManualBufferSamples)
            return
        }
        for e in vad!.process(samples) {
            switch e {
            case .started(let onset, _): speechStarted(onset: onset, td: td, now: now, into: &out)
            case .stopped(let end, let at): speechStopped(end: end, at: at, td: td, now: now, into: &out)
            }
        }
        if speech == nil {
            // Idle: keep only what the prefix padding of a future utterance can reach.
            let keepFrom = (vad!.pendingOnset ?? buffer.end) - td.prefixPaddingMs * 16 - VoiceActivityDetector.frameSamples
            buffer.drop(before: keepFrom)
        }
    }

    private func speechStarted(onset: Int, td: TurnDetectionState, now: Duration, into out: inout [SimAction]) {
        // audio_start_ms marks where the turn's audio begins: the onset less the prefix padding.
        let start = max(onset - td.prefixPaddingMs * 16, commitFloor, buffer.base)
        let item = ids.item()
        speech = (item, start)
        out.append(event(.speechStarted(audioStartMs: start / 16, itemID: item)))
        if response != nil && td.interruptResponse {
            closeOutResponse(now: now, serverInterrupt: true, into: &out)
        }
    }

    private func speechStopped(end: Int, at: Int, td: TurnDetectionState, now: Duration, into out: inout [SimAction]) {
        guard let sp = speech else { return }
        out.append(event(.speechStopped(audioEndMs: end / 16, itemID: sp.itemID)))
        let audio = buffer.slice(sp.start, end)
        buffer.drop(before: at)
        commitFloor = at
        speech = nil
        hasAudioSinceCommit = buffer.end > at
        commitItem(sp.itemID, audio: audio, now: now, into: &out)
        guard td.createResponse else { return }
        if response != nil {
            queuedAutoResponse = true
        } else {
            startResponse(now: now, modalities: nil)
        }
    }

    func commit(now: Duration, into out: inout [SimAction]) {
        guard hasAudioSinceCommit else {
            out.append(error(SimError.emptyBuffer))
            return
        }
        let item = speech?.itemID ?? ids.item()
        let audio = buffer.slice(speech?.start ?? buffer.base, buffer.end)
        resetBuffer()
        commitItem(item, audio: audio, now: now, into: &out)
    }

    func clear(into out: inout [SimAction]) {
        resetBuffer()
        pendingImages = []
        out.append(event(.inputAudioBufferCleared))
    }

    private func resetBuffer() {
        buffer.clear()
        commitFloor = buffer.end
        hasAudioSinceCommit = false
        speech = nil
        vad?.reset()
    }

    /// `committed` + the user item; the item's transcription follows with the next answer.
    private func commitItem(_ itemID: String, audio: [Int16], now: Duration, into out: inout [SimAction]) {
        out.append(event(.inputAudioBufferCommitted(itemID: itemID, previousItemID: nil)))
        takePendingImages()
        let item = ConversationItem(id: itemID, status: "in_progress", role: "user",
                                    content: [ContentPart(type: "input_audio")])
        out.append(event(.conversationItemCreated(item)))
        lastUserAudio = audio
        flushTranscription(into: &out)
        if state.transcriptionEnabled && (state.turnDetection != nil || options.transcriptionInManualMode) {
            pendingTranscription = (itemID, userTranscript(samples: audio.count), now + .ms(options.transcriptionDelayMs))
        }
    }

    func userTranscript(samples: Int) -> String {
        if case .script(let answers) = options.answer, !answers.isEmpty,
            let u = answers[responseCount % answers.count].userTranscript
        {
            return u
        }
        return options.userTranscript ?? "(\(AnswerSource.oneDecimal(Double(samples) / 16_000)) s of audio)"
    }

    func flushTranscription(into out: inout [SimAction]) {
        guard let p = pendingTranscription else { return }
        pendingTranscription = nil
        out.append(event(.inputTranscriptionCompleted(itemID: p.itemID, contentIndex: 0, transcript: p.text)))
    }
}
