// Where answers come from: the user's own audio (`echo`, the demo), a signal tests can check
// sample by sample (`tone`), or canned answers (`script:FILE`).

public struct ScriptAnswer: Sendable, Equatable {
    public var transcript: String
    /// 24 kHz mono s16le.
    public var audio: [Int16]
    /// Transcript of the user turn this answers, reported as its input transcription.
    public var userTranscript: String?

    public init(transcript: String, audio: [Int16], userTranscript: String? = nil) {
        self.transcript = transcript
        self.audio = audio
        self.userTranscript = userTranscript
    }
}

public enum AnswerSource: Sendable, Equatable {
    case echo
    case tone(ToneSpec)
    /// Used in order, wrapping around, per connection.
    case script([ScriptAnswer])
    /// Says what images came with the turn: "I see one 640×480 image, mostly red."
    case describe
}

/// One rendered answer.
struct Answer {
    var transcript: String
    /// Ignored for text-only responses.
    var audio: AnswerAudio
    var userTranscript: String?
}

extension AnswerSource {
    /// The answer number `index` (0-based) of a connection, given the last committed user audio.
    func render(index: Int, userAudio: [Int16], maxEchoMs: Int, images: [SimImage] = []) -> Answer {
        switch self {
        case .echo:
            guard !userAudio.isEmpty else { return AnswerSource.tone(ToneSpec()).render(index: index, userAudio: [], maxEchoMs: 0) }
            let audio = Array(userAudio.prefix(maxEchoMs * 16))
            let seconds = Double(audio.count) / 16_000
            return Answer(transcript: "Echo of \(Self.oneDecimal(seconds)) seconds of your audio.",
                          audio: .samples(Resampler16To24().process(audio)), userTranscript: nil)
        case .tone(let spec):
            return Answer(transcript: "This is a \(Int(spec.frequencyHz)) hertz test tone.", audio: .tone(spec),
                          userTranscript: nil)
        case .script(let answers):
            guard !answers.isEmpty else { return Answer(transcript: "", audio: .none, userTranscript: nil) }
            let a = answers[index % answers.count]
            return Answer(transcript: a.transcript, audio: .samples(a.audio), userTranscript: a.userTranscript)
        case .describe:
            let text = SimImage.describe(images)
            return Answer(transcript: text, audio: .samples(ScriptFile.silence(for: text)), userTranscript: nil)
        }
    }

    static func oneDecimal(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
