// An answer's 24 kHz mono samples: held whole (echo, script), or a tone computed per delta as it
// goes out. A flood test asks for 400 s of tone; rendering it whole before `response.created`
// (9.6 M sin() calls in a debug build) took seconds, and 32 s on a loaded CI machine, which the
// client rightly reported as "no answer within 15 s".

enum AnswerAudio {
    case samples([Int16])
    case tone(ToneSpec)

    static let none = AnswerAudio.samples([])

    var count: Int {
        switch self {
        case .samples(let s): s.count
        case .tone(let spec): spec.sampleCount
        }
    }

    var isEmpty: Bool { count == 0 }

    subscript(range: Range<Int>) -> ArraySlice<Int16> {
        switch self {
        case .samples(let s): s[range]
        case .tone(let spec): ArraySlice(range.map(spec.sample))
        }
    }
}
