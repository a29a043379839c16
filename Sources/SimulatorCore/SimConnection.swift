import RealtimeProtocol

/// One simulated service session (one WebSocket connection). Pure and deterministic: it is fed
/// client frames with the time since the socket opened and returns what to send; timed output
/// (answer streaming, transcription, idle close, faults) comes from `tick(now:)`, which the
/// owner calls at `nextDeadline`. Not thread-safe: keep each session on one queue.
public final class SimConnection {
    public let model: String
    public let options: SimOptions
    public let fault: FaultPlan?
    public let sessionID: String
    let conversationID: String
    var ids: IDGenerator

    public internal(set) var state = ServedSessionConfig()
    public internal(set) var isClosed = false
    public internal(set) var isStalled = false

    // Input side.
    var buffer = SampleBuffer()
    var hasAudioSinceCommit = false
    var vad: VoiceActivityDetector?
    /// The utterance VAD is inside: its item id and first sample (prefix padding included).
    var speech: (itemID: String, start: Int)?
    /// Audio before this position belongs to turns already committed.
    var commitFloor = 0
    var lastUserAudio: [Int16] = []
    var pendingTranscription: (itemID: String, text: String, due: Duration)?
    /// Images since the last commit, and those of the turn committed last (SimConnection+Images).
    var pendingImages: [SimImage] = []
    var turnImages: [SimImage] = []
    var lastImageAtMs: Double?
    /// Turns that carried images; the service keeps at most `maxVideoTurns` of them.
    public internal(set) var videoTurns = 0
    static let maxVideoTurns = 8

    // Output side.
    var response: ResponseStream?
    var queuedAutoResponse = false
    var responseCount = 0
    var audioProduced = false
    var lastActivity: Duration = .zero
    var pendingClose: (at: Duration, code: Int, reason: String)?
    var faultDone = false
    /// invalid_base64: deltas spoiled so far.
    var spoiledDeltas = 0

    public init(model: String, options: SimOptions = SimOptions(), fault: FaultPlan? = nil, seed: UInt64) {
        self.model = model
        self.options = options
        self.fault = fault
        ids = IDGenerator(seed: seed)
        sessionID = ids.session()
        conversationID = ids.conversation()
        if let td = state.turnDetection { vad = VoiceActivityDetector(settings: vadSettings(td)) }
    }

    /// What to send when the socket opens (time zero): `session.created`.
    public func open() -> [SimAction] {
        let created = event(.sessionCreated(state.createdConfig(id: sessionID, model: model)))
        guard let f = fault, f.isAtOpen, f.atMs == nil else { return [created] }
        var out: [SimAction] = f.kind == .resetAfterCreated ? [created] : []
        _ = fireFault(f, at: .zero, into: &out)
        return out
    }

    /// A text frame from the client, `now` after the socket opened.
    public func receive(text: String, now: Duration) -> [SimAction] {
        var out = tick(now: now)
        guard acceptsInput else { return out }
        do {
            let e = try ClientEvent.decode(text)
            handle(e, now: now, into: &out)
        } catch {
            out.append(event(.error(SimError.unparsable(error.description))))
        }
        return out
    }

    /// An already decoded client event.
    public func receive(_ e: ClientEvent, now: Duration) -> [SimAction] {
        var out = tick(now: now)
        if acceptsInput { handle(e, now: now, into: &out) }
        return out
    }

    /// The client went away (or the socket failed): nothing more will be sent.
    public func clientClosed() { isClosed = true }

    var acceptsInput: Bool { !isClosed && !isStalled && pendingClose == nil }

    func event(_ body: ServerEventBody) -> SimAction { .send(ServerEvent(eventID: ids.event(), body)) }

    func error(_ e: ErrorDetail) -> SimAction { event(.error(e)) }

    func vadSettings(_ td: TurnDetectionState) -> VADSettings {
        VADSettings(threshold: td.threshold, prefixPaddingMs: td.prefixPaddingMs,
                    silenceDurationMs: td.silenceDurationMs, minSpeechMs: options.vadMinSpeechMs)
    }

    func handle(_ e: ClientEvent, now: Duration, into out: inout [SimAction]) {
        switch e.body {
        case .sessionUpdate(let update): updateSession(update, into: &out)
        case .inputAudioBufferAppend(let audio): append(audio, now: now, into: &out)
        case .inputAudioBufferCommit: commit(now: now, into: &out)
        case .inputAudioBufferClear: clear(into: &out)
        case .inputImageBufferAppend(let image): appendImage(image, now: now, into: &out)
        case .responseCreate(let params): createResponse(params, now: now, into: &out)
        case .responseCancel: cancelResponse(now: now, into: &out)
        case .sessionFinish:
            guard options.sessionFinishSupported else {
                out.append(error(SimError.unknownEventType(e.type)))
                return
            }
            out.append(event(.sessionFinished))
            scheduleClose(at: now, code: options.closeCode)
        case .conversationItemCreate:
            // Tool results only; qwen3-omni-flash offers no tools (protocol §3.9).
            out.append(error(SimError.invalidRequest("conversation.item.create is not supported by this model.")))
        case .unknown(let type): out.append(error(SimError.unknownEventType(type)))
        }
    }

    func updateSession(_ update: SessionConfig, into out: inout [SimAction]) {
        switch state.applying(update, voiceLocked: audioProduced, rejectedOutputFormats: options.rejectedOutputFormats) {
        case .rejected(let e):
            out.append(error(e))
        case .accepted(let next):
            let vadChanged = next.turnDetection != state.turnDetection
            state = next
            if vadChanged {
                // A new VAD configuration starts afresh at the current input position.
                speech = nil
                vad = next.turnDetection.map { VoiceActivityDetector(settings: vadSettings($0), startPosition: buffer.end) }
            }
            out.append(event(.sessionUpdated(state.updatedConfig(id: sessionID, model: model))))
        }
    }

    func scheduleClose(at now: Duration, code: Int, reason: String = "") {
        pendingClose = (now + .ms(options.closeDelayMs), code, reason)
    }
}
