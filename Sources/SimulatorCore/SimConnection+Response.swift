import RealtimeProtocol

// Answers: response.create / cancel, the event tail of protocol §5.1 and the closeout of §5.3.
extension SimConnection {
    func createResponse(_ params: ResponseParameters?, now: Duration, into out: inout [SimAction]) {
        guard response == nil else {
            out.append(error(SimError.alreadyActive))
            return
        }
        var modalities: [String]?
        if let m = params?.modalities {
            guard ServedSessionConfig.validModalities(m) else {
                out.append(error(SimError.invalidModalities(m, param: "response.modalities")))
                return
            }
            modalities = m
        }
        startResponse(now: now, modalities: modalities)
    }

    func cancelResponse(now: Duration, into out: inout [SimAction]) {
        guard response != nil else {
            out.append(error(SimError.noActiveResponse))
            return
        }
        queuedAutoResponse = false
        closeOutResponse(now: now, serverInterrupt: false, into: &out)
    }

    /// Plans the next answer; its header goes out `responseDelayMs` later (from `tick`).
    func startResponse(now: Duration, modalities: [String]?) {
        responseCount += 1
        let answer = options.answer.render(index: responseCount - 1, userAudio: lastUserAudio,
                                           maxEchoMs: options.maxEchoMs, images: turnImages)
        response = ResponseStream(
            number: responseCount, id: ids.response(), itemID: ids.item(), modalities: modalities ?? state.modalities,
            answer: answer, start: now + .ms(options.responseDelayMs), options: options,
            userAudioMs: lastUserAudio.count / 16, instructionsLength: state.instructions?.utf8.count ?? 0)
        lastActivity = now
    }

    private func assistantItem(_ r: ResponseStream, status: String, content: [ContentPart]) -> ConversationItem {
        ConversationItem(id: r.itemID, status: status, role: "assistant", content: content)
    }

    private func info(_ r: ResponseStream, status: String, output: [ConversationItem], usage: Usage?) -> ResponseInfo {
        ResponseInfo(id: r.id, conversationID: conversationID, status: status, modalities: r.modalities,
                     voice: state.voice, outputAudioFormat: state.outputAudioFormat, output: output, usage: usage)
    }

    /// response.created … content_part.added (+ the user item's transcription). Start-of-answer
    /// faults fire here; returns false when the answer was dropped for one.
    @discardableResult
    func emitHeader(_ r: ResponseStream, at t: Duration, into out: inout [SimAction]) -> Bool {
        if let f = fault, !faultDone, f.atMs == nil, f.isAtResponseStart, f.response == r.number {
            guard fireFault(f, at: t, into: &out) else {
                response = nil
                lastActivity = t
                return false
            }
        }
        r.headerSent = true
        out.append(event(.responseCreated(info(r, status: "in_progress", output: [], usage: nil))))
        let item = assistantItem(r, status: "in_progress", content: [])
        out.append(event(.outputItemAdded(responseID: r.id, outputIndex: 0, item: item)))
        out.append(event(.conversationItemCreated(item)))
        out.append(event(.contentPartAdded(r.ref, part: ContentPart(type: r.audioOut ? "audio" : "text", text: ""))))
        flushTranscription(into: &out)
        return true
    }

    /// The next chunk (transcript/text delta, then audio delta); the tail after the last one.
    func emitChunk(_ r: ResponseStream, at t: Duration, into out: inout [SimAction]) {
        if midAnswerFaultDue(r) {
            _ = fireFault(fault!, at: t, into: &out)
            return
        }
        let c = r.chunks[r.nextChunk]
        r.nextChunk += 1
        r.deltasSent += 1
        if !c.text.isEmpty {
            r.sentText += c.text
            out.append(event(r.audioOut ? .audioTranscriptDelta(r.ref, delta: c.text) : .textDelta(r.ref, delta: c.text)))
        }
        if r.audioOut && !c.audio.isEmpty { audioDelta(r, c.audio, into: &out) }
        guard r.finished else { return }
        if midAnswerFaultDue(r) {
            _ = fireFault(fault!, at: t, into: &out)
            return
        }
        emitTail(r, status: "completed", responseStatus: "completed", sendDone: true, into: &out)
        finishResponse(at: t)
        if let f = fault, !faultDone, f.atMs == nil, f.kind == .resetAfterDone, f.response == r.number {
            _ = fireFault(f, at: t, into: &out)
        }
    }

    private func audioDelta(_ r: ResponseStream, _ range: Range<Int>, into out: inout [SimAction]) {
        audioProduced = true
        let samples = r.audio[range]
        var payload = samples.withUnsafeBufferPointer { PCM16.base64($0) }
        if let f = fault, f.kind == .invalidBase64, f.response == r.number, spoiledDeltas < (f.count ?? .max) {
            if spoiledDeltas == 0 { out.append(.faultFired(f.kind)) }
            payload = Self.spoil(payload, variant: spoiledDeltas, samples: samples)
            spoiledDeltas += 1
        }
        out.append(event(.audioDelta(r.ref, delta: payload)))
    }

    private func midAnswerFaultDue(_ r: ResponseStream) -> Bool {
        guard let f = fault, !faultDone, f.atMs == nil, f.isMidAnswer, f.response == r.number else { return false }
        return r.deltasSent >= f.afterDeltas || r.finished
    }

    /// The *.done events with what was sent so far, then (optionally) response.done.
    private func emitTail(_ r: ResponseStream, status: String, responseStatus: String, sendDone: Bool,
                          into out: inout [SimAction]) {
        let text = r.sentText
        let content: ContentPart
        if r.audioOut {
            out.append(event(.audioTranscriptDone(r.ref, transcript: text)))
            out.append(event(.audioDone(r.ref)))
            out.append(event(.contentPartDone(r.ref, part: ContentPart(type: "audio", text: text))))
            content = ContentPart(type: "audio", transcript: text)
        } else {
            out.append(event(.textDone(r.ref, text: text)))
            out.append(event(.contentPartDone(r.ref, part: ContentPart(type: "text", text: text))))
            content = ContentPart(type: "text", text: text)
        }
        let item = assistantItem(r, status: status, content: [content])
        out.append(event(.outputItemDone(responseID: r.id, outputIndex: 0, item: item)))
        guard sendDone else { return }
        let sentSamples = r.chunks[..<r.nextChunk].reduce(0) { $0 + $1.audio.count }
        let usage = r.usage(outputText: text, outputSamples: sentSamples)
        out.append(event(.responseDone(info(r, status: responseStatus, output: [item], usage: usage))))
    }

    private func finishResponse(at t: Duration) {
        response = nil
        lastActivity = t
        if queuedAutoResponse {
            queuedAutoResponse = false
            startResponse(now: t, modalities: nil)
        }
    }

    /// Stops the active answer: `response.cancel`, or new speech with interrupt_response (§5.3).
    /// The closeout is the *.done events with status `incomplete` and, unless
    /// `cancelEmitsResponseDone`, no `response.done`.
    func closeOutResponse(now: Duration, serverInterrupt: Bool, into out: inout [SimAction]) {
        guard let r = response else { return }
        if !r.headerSent {
            guard emitHeader(r, at: now, into: &out) else { return }
        }
        if serverInterrupt && options.strayDeltaOnInterrupt && r.audioOut && !r.finished {
            // A delta the service had already put on the wire when it noticed the speech.
            let c = r.chunks[r.nextChunk]
            r.nextChunk += 1
            if !c.audio.isEmpty { audioDelta(r, c.audio, into: &out) }
        }
        emitTail(r, status: "incomplete", responseStatus: "cancelled", sendDone: options.cancelEmitsResponseDone,
                 into: &out)
        response = nil
        lastActivity = now
    }
}
