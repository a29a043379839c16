// Simulator-wide knobs (command-line flags of omni-sim). Defaults follow protocol §11: where the
// service's behaviour is unknown they are the choice that stresses a client most.
public struct SimOptions: Sendable {
    /// What answers say.
    public var answer: AnswerSource = .echo
    /// Streaming speed as a multiple of real time (4 = a 100 ms delta every 25 ms); 0 = burst.
    public var speed: Double = 4
    /// From `response.created` to the first delta.
    public var firstDeltaMs: Double = 200
    /// Audio per `response.audio.delta` (100 ms = 4800 bytes at 24 kHz).
    public var deltaMs: Int = 100
    /// From the trigger (`response.create`, VAD commit) to `response.created`; > 0 so a duplicate
    /// `response.create` is refused before the first one's `response.created`, as in the trace.
    public var responseDelayMs: Double = 20
    /// After `response.cancel` / barge-in, also send `response.done` (status `cancelled`).
    public var cancelEmitsResponseDone = false
    /// On server-side barge-in send one more delta of the old answer ("already in flight").
    public var strayDeltaOnInterrupt = true
    /// `…input_audio_transcription.completed` also in manual mode.
    public var transcriptionInManualMode = true
    /// A committed item's transcription is sent with the next answer's header, or this long
    /// after the commit when no answer starts.
    public var transcriptionDelayMs: Double = 500
    /// Close with an error after this long without a response; 0 = never.
    public var idleTimeoutS: Double = 300
    /// Close at this session age; 0 = never.
    public var maxSessionS: Double = 7200
    /// Close code for graceful server-initiated closes (finish, idle, session cap).
    public var closeCode = 1000
    /// Gap between the last event and a server-initiated close.
    public var closeDelayMs: Double = 20
    /// `session.finish` → `session.finished` + close; false → unknown-type error (qwen3.5 behaviour).
    public var sessionFinishSupported = true
    /// Speech must last this long before `speech_started`.
    public var vadMinSpeechMs = 100
    /// Image limit (Base64 characters), protocol §3.5.
    public var maxImageBase64Bytes = 256 * 1024
    /// Two images closer than this are refused as too fast (the service wants about 1 a second;
    /// 250 ms leaves room for a client's 2 fps and its jitter).
    public var imageMinIntervalMs: Double = 250
    /// Decodes a JPEG to its mean colour (omni-sim passes libjpeg-turbo); nil: colour unknown.
    public var decodeImage: (@Sendable ([UInt8]) -> SimImageDecoding)?
    /// Longest echo answer.
    public var maxEchoMs = 30_000
    /// Text of `…transcription.completed` when the answer source has none; nil = "(N.N s of audio)".
    public var userTranscript: String?
    /// `output_audio_format` spellings refused in `session.update` (the guide says "pcm24", the
    /// SDK samples send "pcm16"; which one the service takes is what a client must not assume).
    public var rejectedOutputFormats: Set<String> = []

    public init() {}
}
