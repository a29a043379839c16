// Earcons: short tones the box plays to say what it is doing. Generated, never loaded from
// files, at the device's rate once per device session (off the audio thread); the audio thread
// only mixes the prepared samples.
//
// Design: sine notes with a touch of second harmonic for presence on small speakers, each with
// raised-cosine attack and release so no note starts or ends with a click. `level` is the peak
// amplitude as a fraction of full scale (the rendering is normalised to it).
//
//   listeningStart  rising  E5 → A5            "I'm listening"
//   listeningEnd    falling A5 → E5            "got it"
//   error           two low buzzy A3 notes     "something went wrong"
//   offline         descending G5 → E5 → C5    "no service"
//   ready           pink noise under a chime   "listening hands-free" (ReadySound.swift: the
//                                              echo canceller learns the room from it)

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum EarconKind: Int, CaseIterable, Sendable, Equatable, CustomStringConvertible {
    case listeningStart = 0
    case listeningEnd = 1
    case error = 2
    case offline = 3
    /// Not a tone: played when a new echo canceller starts in hands-free mode (ReadySound).
    case ready = 4

    /// Number of kinds, without building `allCases` (an array) on the audio thread.
    public static var count: Int { 5 }

    public var description: String {
        switch self {
        case .listeningStart: "listening-start"
        case .listeningEnd: "listening-end"
        case .error: "error"
        case .offline: "offline"
        case .ready: "ready"
        }
    }
}

public enum Earcon {
    /// One note: frequency, duration, relative amplitude, second-harmonic share.
    struct Note {
        var hz: Double
        var ms: Double
        var gain = 1.0
        var harmonic = 0.15
    }

    /// Notes separated by `gapMs` of silence.
    static func score(_ kind: EarconKind) -> (notes: [Note], gapMs: Double) {
        switch kind {
        case .listeningStart:
            ([Note(hz: 659.25, ms: 70), Note(hz: 880.0, ms: 90)], 15)
        case .listeningEnd:
            ([Note(hz: 880.0, ms: 70), Note(hz: 659.25, ms: 90)], 15)
        case .error:
            ([Note(hz: 220.0, ms: 140, harmonic: 0.45), Note(hz: 220.0, ms: 140, harmonic: 0.45)], 70)
        case .offline:
            ([Note(hz: 783.99, ms: 100), Note(hz: 659.25, ms: 100), Note(hz: 523.25, ms: 160)], 20)
        case .ready:
            ([], 0)  // not notes: `render` and `durationMs` take ReadySound's
        }
    }

    /// Attack/release length of every note.
    static let rampMs = 6.0

    /// Renders `kind` at `sampleRate` with its peak at `level` × full scale (level clamped to 0…1).
    public static func render(_ kind: EarconKind, sampleRate: Int, level: Double) -> [Int16] {
        if kind == .ready { return ReadySound.render(sampleRate: sampleRate, level: level) }
        let level = min(1, max(0, level))
        let (notes, gapMs) = score(kind)
        let rate = Double(sampleRate)
        var wave: [Double] = []
        wave.reserveCapacity(Int(rate * 0.6))
        for (index, note) in notes.enumerated() {
            if index > 0 { wave.append(contentsOf: repeatElement(0, count: Int(gapMs * rate / 1000))) }
            let count = Int(note.ms * rate / 1000)
            let ramp = max(1, Int(rampMs * rate / 1000))
            for n in 0..<count {
                var envelope = 1.0
                if n < ramp {
                    envelope = 0.5 - 0.5 * cos(Double.pi * Double(n) / Double(ramp))
                } else if n >= count - ramp {
                    envelope = 0.5 - 0.5 * cos(Double.pi * Double(count - 1 - n) / Double(ramp))
                }
                let phase = 2 * Double.pi * note.hz * Double(n) / rate
                wave.append(note.gain * (sin(phase) + note.harmonic * sin(2 * phase)) * envelope)
            }
        }
        // Normalise so the loudest sample sits exactly at the requested level.
        let peak = wave.reduce(0) { max($0, abs($1)) }
        let scale = peak > 0 ? level * 32767 / peak : 0
        return wave.map { PCM.clampToInt16($0 * scale) }
    }

    /// Duration in milliseconds (for logs and tests).
    public static func durationMs(_ kind: EarconKind) -> Double {
        if kind == .ready { return ReadySound.durationMs }
        let (notes, gap) = score(kind)
        return notes.reduce(0) { $0 + $1.ms } + gap * Double(notes.count - 1)
    }
}
