// The `script:FILE` answer format: UTF-8 text, one answer per block, blocks separated by a line
// `---`; `#` starts a comment line. Keys per block:
//
//   transcript: Hello! Is there anything I can help you with?
//   audio: hello.s16le          # raw 24 kHz mono s16le, path relative to the script file
//   user: What's the weather?   # optional: the user turn's transcription
//
// A block without `audio` answers with silence (300 ms per word) so text and audio stay paired.
public struct ScriptEntry: Sendable, Equatable {
    public var transcript: String
    public var audioPath: String?
    public var userTranscript: String?

    public init(transcript: String, audioPath: String? = nil, userTranscript: String? = nil) {
        self.transcript = transcript
        self.audioPath = audioPath
        self.userTranscript = userTranscript
    }
}

public enum ScriptFile {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "script line \(line): \(reason)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [ScriptEntry] {
        var entries: [ScriptEntry] = []
        var current: ScriptEntry?
        var currentStart = 0
        func finish() throws(ParseError) {
            guard let c = current else { return }
            guard !c.transcript.isEmpty else { throw ParseError(line: currentStart, reason: "block has no transcript") }
            entries.append(c)
            current = nil
        }
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Substring(raw.hasSuffix("\r") ? raw.dropLast() : raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == "---" {
                try finish()
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw ParseError(line: i + 1, reason: "expected 'key: value'")
            }
            let key = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if current == nil {
                current = ScriptEntry(transcript: "")
                currentStart = i + 1
            }
            switch key {
            case "transcript": current!.transcript = value
            case "audio": current!.audioPath = value
            case "user": current!.userTranscript = value
            default: throw ParseError(line: i + 1, reason: "unknown key '\(key)'")
            }
        }
        try finish()
        guard !entries.isEmpty else { throw ParseError(line: 0, reason: "no answers") }
        return entries
    }

    /// Samples of a raw little-endian s16 file (a trailing odd byte is ignored).
    public static func samples(fromRaw bytes: [UInt8]) -> [Int16] {
        (0..<bytes.count / 2).map { Int16(bitPattern: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
    }

    /// The stand-in audio for a block without a file: 300 ms of silence per word, at 24 kHz.
    public static func silence(for transcript: String) -> [Int16] {
        let words = transcript.split(separator: " ").count
        return [Int16](repeating: 0, count: max(1, words) * 7_200)
    }
}
