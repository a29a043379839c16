import RealtimeProtocol

// One answer in flight: its ids, what it will say, and how far the streaming has got.
// The answer is cut into chunks; chunk i is due at
//   start + firstDelta + i · (deltaMs / speed)      (all at start + firstDelta when speed = 0)
// and carries the transcript words assigned to it (audio_transcript.delta, first) and
// `deltaMs` of audio (audio.delta). Text-only answers send one word per chunk as text.delta.
final class ResponseStream {
    let number: Int  // 1-based, per connection
    let id: String
    let itemID: String
    let modalities: [String]
    let startAt: Duration
    let firstDeltaAt: Duration
    let interval: Duration
    let audio: AnswerAudio
    /// Per chunk: the transcript text it carries and its audio sample range.
    let chunks: [(text: String, audio: Range<Int>)]
    /// For usage.
    let userAudioMs: Int
    let instructionsLength: Int

    var headerSent = false
    var nextChunk = 0
    var sentText = ""
    var deltasSent = 0

    var audioOut: Bool { modalities.contains("audio") }
    var ref: ContentRef { ContentRef(responseID: id, itemID: itemID) }
    var finished: Bool { nextChunk >= chunks.count }

    init(number: Int, id: String, itemID: String, modalities: [String], answer: Answer, start: Duration,
         options: SimOptions, userAudioMs: Int, instructionsLength: Int) {
        self.number = number
        self.id = id
        self.itemID = itemID
        self.modalities = modalities
        self.startAt = start
        self.firstDeltaAt = start + .ms(options.firstDeltaMs)
        self.interval = options.speed > 0 ? .ms(Double(options.deltaMs) / options.speed) : .zero
        self.userAudioMs = userAudioMs
        self.instructionsLength = instructionsLength
        let words = Self.words(answer.transcript)
        let audio = modalities.contains("audio") ? answer.audio : .none
        self.audio = audio
        if modalities.contains("audio") {
            let per = max(1, options.deltaMs * 24)
            let n = max(1, (audio.count + per - 1) / per)
            chunks = (0..<n).map { i in
                // Words are front-loaded (⌈i·W/n⌉): the first chunk carries text, trailing ones
                // may be audio only, as in the traces.
                let lo = (i * words.count + n - 1) / n, hi = ((i + 1) * words.count + n - 1) / n
                return (words[lo..<hi].joined(), min(i * per, audio.count)..<min((i + 1) * per, audio.count))
            }
        } else {
            chunks = (words.isEmpty ? [""] : words).map { ($0, 0..<0) }
        }
    }

    func due(_ chunk: Int) -> Duration { firstDeltaAt + interval * chunk }

    /// "Once upon a time," → ["Once", " upon", " a", " time,"]; joined they give back the text.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var hasWord = false
        var prevSpace = false
        for ch in text {
            if ch == " " && hasWord && !prevSpace {
                out.append(cur)
                cur = ""
                hasWord = false
            }
            cur.append(ch)
            if ch != " " { hasWord = true }
            prevSpace = ch == " "
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The response's usage in DashScope field names. The numbers are modelled, not measured [INF]:
    /// 25 audio tokens per second in, 12.5 per second out, ~4 characters per text token.
    func usage(outputText: String, outputSamples: Int) -> Usage {
        let inText = 100 + instructionsLength / 4
        let inAudio = max(1, (userAudioMs + 39) / 40)
        let outText = max(1, (outputText.utf8.count + 3) / 4)
        let outAudio = audioOut ? (outputSamples / 24 + 79) / 80 : 0
        return Usage(totalTokens: inText + inAudio + outText + outAudio, inputTokens: inText + inAudio,
                     outputTokens: outText + outAudio,
                     inputTokensDetails: TokenDetails(textTokens: inText, audioTokens: inAudio),
                     outputTokensDetails: TokenDetails(textTokens: outText, audioTokens: outAudio))
    }
}
