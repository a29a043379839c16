// The outgoing side: the public calls that queue client events, the bounds that drop stale audio
// and images, and the flush that hands messages to the transport while the session is ready.

import Logging
import RealtimeProtocol

extension SessionManager {
    // MARK: Public API

    /// Queues `input_audio_buffer.append` (Base64 of 16 kHz mono s16le). Behind a re-sent turn
    /// still going out, it is part of that turn and is not dropped either.
    public func appendAudio(base64: String) {
        defer { deliverEvents() }
        enqueue(.inputAudioBufferAppend(audio: base64), kind: queue.resendCount > 0 ? .resend : .audio)
    }

    /// Sends the audio of a turn again, whole, on this link (after its first link was lost or
    /// renewed): the chunks are exempt from the drop-oldest bound and leave as fast as the
    /// transport takes them (`.writable` paces them), ahead of whatever is queued after them.
    public func resendTurn(_ chunks: [String]) {
        defer { deliverEvents() }
        for c in chunks { enqueue(.inputAudioBufferAppend(audio: c), kind: .resend) }
    }

    /// Queues `input_audio_buffer.append` for 16 kHz mono samples.
    public func appendAudio(samples: UnsafeBufferPointer<Int16>) {
        appendAudio(base64: PCM16.base64(samples))
    }

    public func appendAudio(samples: [Int16]) {
        appendAudio(base64: PCM16.base64(samples))
    }

    /// Queues `input_image_buffer.append` (Base64 JPEG). At most `maxQueuedImages` wait; older ones are dropped.
    public func appendImage(base64: String) {
        defer { deliverEvents() }
        enqueue(.inputImageBufferAppend(image: base64), kind: .image)
    }

    /// Queues `input_audio_buffer.commit`.
    public func commit() {
        defer { deliverEvents() }
        enqueue(.inputAudioBufferCommit, kind: .control)
    }

    /// Queues `input_audio_buffer.clear`.
    public func clearInputBuffer() {
        defer { deliverEvents() }
        enqueue(.inputAudioBufferClear, kind: .control)
    }

    /// Queues `response.create`; it goes out once no earlier response is active
    /// (SessionManager+Responses).
    public func createResponse(_ params: ResponseParameters? = nil) {
        defer { deliverEvents() }
        enqueue(.responseCreate(params), kind: .responseCreate)
    }

    /// Cancels the response in progress or asked for: withdraws a `response.create` that has not
    /// left yet, else queues `response.cancel` (sent only if there is something to cancel).
    public func cancelResponse() {
        defer { deliverEvents() }
        queueCancel()
    }

    /// Queues `session.finish` (§3.8). The manager keeps the link; see `stop()`.
    public func finishSession() {
        defer { deliverEvents() }
        enqueue(.sessionFinish, kind: .control)
    }

    // MARK: Queue

    private var isManualMode: Bool {
        if case .null = session.turnDetection { return true }
        return false
    }

    func enqueue(_ body: ClientEventBody, kind: SessionOutgoingQueue.Kind) {
        let now = clock.now()
        turn.client(body, manualMode: isManualMode, at: now)
        let id = nextEventID()
        let text = ClientEvent(eventID: id, body).encoded()
        queue.append(.init(kind: kind, eventID: id, type: body.type, text: text))
        flush()
        enforceBounds()
    }

    private func enforceBounds() {
        var dropped = 0
        while queue.audioCount > max(0, settings.maxQueuedAudio), queue.dropOldest(.audio) != nil {
            dropped += 1
        }
        if dropped > 0 {
            counters.droppedAudioFrames += dropped
            droppingSinceDrain += dropped
            // One drop per appended message while the link lags: rate-limited (issue 16).
            warnDroppedAudio(at: clock.now())
        }
        while queue.imageCount > max(0, settings.maxQueuedImages), queue.dropOldest(.image) != nil {
            counters.droppedImages += 1
            logger.debug("dropped a queued image (\(counters.droppedImages) so far)")
        }
    }

    /// Hands queued messages to the transport while ready and while it accepts them.
    func flush() {
        guard state == .ready else { return }
        let now = clock.now()
        while let m = queue.first {
            switch gate(m, at: now) {
            case .hold: return
            case .skip:
                queue.removeFirst()
                continue
            case .send: break
            }
            guard transport.send(text: m.text) else { break }
            queue.removeFirst()
            counters.messagesSent += 1
            didSend(m, at: now)
        }
        if queue.isEmpty, droppingSinceDrain > 0 {
            logger.notice("send queue drained after dropping \(droppingSinceDrain) audio message(s)")
            droppingSinceDrain = 0
        }
    }

    /// The link these messages were queued for has ended: none of them may reach the next
    /// session (a stale commit or response.create there would start an answer nobody asked for).
    func discardStaleQueue() {
        let n = queue.count
        queue.removeAll()
        droppingSinceDrain = 0
        if n > 0 { logger.debug("dropped \(n) message(s) queued for the link that ended") }
    }

    /// "event_" + the manager's tag + the counter in lowercase hex. Written into the string's
    /// storage by hand: interpolating `String(_:radix:)` cost 2 % of the controller's CPU in the
    /// conversation benchmark (one ID per message sent).
    func nextEventID() -> String {
        idCounter &+= 1
        let counter = idCounter
        let digits = max(1, (UInt64.bitWidth - counter.leadingZeroBitCount + 3) / 4)
        var prefix = idPrefix
        return prefix.withUTF8 { head in
            String(unsafeUninitializedCapacity: head.count + digits) { out in
                _ = out.initialize(fromContentsOf: head)
                for i in 0..<digits {
                    let nibble = Int(truncatingIfNeeded: counter >> UInt64(4 * (digits - 1 - i))) & 0xF
                    out[head.count + i] = nibble < 10 ? UInt8(ascii: "0") + UInt8(nibble) : UInt8(ascii: "a") + UInt8(nibble - 10)
                }
                return head.count + digits
            }
        }
    }
}
