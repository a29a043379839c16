#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Server VAD (protocol §5.1): an energy detector on 10 ms frames of the 16 kHz input.
//
// Threshold mapping. The service's `threshold` is in [-1, 1], lower = more sensitive. A frame
// counts as speech when its RMS level is at least
//
//     level(threshold) = −40 + 20 · threshold   dBFS
//
// i.e. −60 dBFS at −1 (anything above a quiet room), −40 dBFS at 0, −36 dBFS at the SDK's
// default 0.2, −30 dBFS at the documented default 0.5 and −20 dBFS at 1 (only loud, close
// speech). Digital silence is −∞ dBFS and never counts.
//
// Decisions (all on frame boundaries, so every time below is exact to one 10 ms frame):
// - speech starts once `minSpeechMs` of consecutive speech frames have been seen; the onset is
//   the first frame of that run (a shorter blip is ignored);
// - speech stops after `silenceDurationMs` (rounded up to whole frames) of consecutive
//   non-speech frames; the end is the end of the last speech frame. Shorter gaps are part of
//   the utterance.
// Positions are sample counts since the session's first appended sample, which is what the
// service's `audio_start_ms` / `audio_end_ms` count.

public struct VADSettings: Sendable, Equatable {
    public var threshold: Double
    public var prefixPaddingMs: Int
    public var silenceDurationMs: Int
    public var minSpeechMs: Int

    public init(threshold: Double = 0.5, prefixPaddingMs: Int = 300, silenceDurationMs: Int = 800, minSpeechMs: Int = 100) {
        self.threshold = threshold
        self.prefixPaddingMs = prefixPaddingMs
        self.silenceDurationMs = silenceDurationMs
        self.minSpeechMs = minSpeechMs
    }

    /// The speech level in dBFS that `threshold` stands for (see the file header).
    public static func levelDBFS(threshold: Double) -> Double { -40 + 20 * threshold }
}

public struct VoiceActivityDetector: Sendable {
    public enum Event: Sendable, Equatable {
        /// `onset`: first sample of the speech run; `at`: the sample position where it was decided.
        case started(onset: Int, at: Int)
        /// `end`: one past the last speech sample; `at`: where the silence window completed.
        case stopped(end: Int, at: Int)
    }

    public static let frameSamples = 160  // 10 ms at 16 kHz

    public let settings: VADSettings
    /// Mean square (in sample units²) at and above which a frame is speech.
    let energyThreshold: Double
    let minSpeechFrames: Int
    let silenceFrames: Int

    /// Position of the next frame's first sample.
    public private(set) var framePosition: Int
    private var partial: [Int16] = []
    private var runStart: Int?
    private var runFrames = 0
    public private(set) var speaking = false
    private var lastSpeechEnd = 0
    private var silenceRun = 0

    public init(settings: VADSettings, startPosition: Int = 0) {
        self.settings = settings
        let level = VADSettings.levelDBFS(threshold: settings.threshold)
        energyThreshold = 32768.0 * 32768.0 * pow(10, level / 10)
        minSpeechFrames = max(1, (settings.minSpeechMs + 9) / 10)
        silenceFrames = max(1, (settings.silenceDurationMs + 9) / 10)
        framePosition = startPosition
    }

    /// Start of a speech run that has not been confirmed yet (the buffer must keep audio from
    /// `prefixPaddingMs` before it), or nil.
    public var pendingOnset: Int? { speaking ? nil : runStart }

    public mutating func process(_ samples: some Collection<Int16>) -> [Event] {
        var events: [Event] = []
        var frame = partial
        frame.reserveCapacity(Self.frameSamples)
        for s in samples {
            frame.append(s)
            if frame.count == Self.frameSamples {
                if let e = decide(isSpeech: Self.meanSquare(frame) >= energyThreshold) { events.append(e) }
                frame.removeAll(keepingCapacity: true)
            }
        }
        partial = frame
        return events
    }

    /// Forgets any utterance in progress (client `clear`/`commit`, or a new configuration).
    public mutating func reset() {
        runStart = nil
        runFrames = 0
        speaking = false
        silenceRun = 0
    }

    static func meanSquare(_ frame: [Int16]) -> Double {
        var acc = 0.0
        for s in frame { acc += Double(s) * Double(s) }
        return acc / Double(frame.count)
    }

    private mutating func decide(isSpeech: Bool) -> Event? {
        let start = framePosition
        let end = start + Self.frameSamples
        framePosition = end
        if !speaking {
            guard isSpeech else {
                runStart = nil
                runFrames = 0
                return nil
            }
            if runFrames == 0 { runStart = start }
            runFrames += 1
            guard runFrames >= minSpeechFrames else { return nil }
            speaking = true
            lastSpeechEnd = end
            silenceRun = 0
            let onset = runStart ?? start
            runStart = nil
            runFrames = 0
            return .started(onset: onset, at: end)
        }
        if isSpeech {
            lastSpeechEnd = end
            silenceRun = 0
            return nil
        }
        silenceRun += 1
        guard silenceRun >= silenceFrames else { return nil }
        speaking = false
        silenceRun = 0
        return .stopped(end: lastSpeechEnd, at: end)
    }
}
