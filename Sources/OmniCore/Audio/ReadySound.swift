// The "ready" sound: what a hands-free box plays through its speaker when a new echo canceller
// starts (omnid's start, or a changed echo path), before anybody has asked anything, so the
// canceller learns the room from it and the first answer can already be talked over
// (docs/echo-cancellation.md, "The ready sound").
//
// An adaptive canceller learns the echo path only where the speaker has energy: a chime's few
// tones teach it a few frequencies, and speech (the first answer) teaches it slowly and
// unevenly. So the body of the sound is broadband — pink noise (equal energy per octave, as
// speech and music are spread, which speexdsp's frequency-domain filter adapts to evenly)
// band-limited to 120 Hz – 7 kHz — under a soft "whoosh" envelope (fade in, hold, fade out);
// a rising two-note chime on top makes it read as a signal rather than noise. Measured offline
// (bench/aec --startup --ready): with it the start-up gate opens before the first answer in
// the bench rooms.
//
// Seeded: the same samples every time. Rendered off the audio thread (like Earcon); `level` is
// the peak amplitude as a fraction of full scale.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum ReadySound {
    /// Length of the whole sound, ms.
    public static let durationMs = 2800.0
    /// The noise's fade in and fade out, ms (raised cosine).
    static let fadeInMs = 30.0
    static let fadeOutMs = 150.0
    /// The pink noise's band, Hz.
    static let lowHz = 120.0
    static let highHz = 7000.0
    /// The chime: two notes (start ms, length ms, Hz), their level against the noise's peak.
    /// At the end, as the noise fades: "ready".
    static let chime: [(startMs: Double, ms: Double, hz: Double)] = [(1900, 400, 783.99), (2150, 650, 1046.5)]
    static let chimeShare = 0.45
    static let seed: UInt64 = 0x5245_4144_59  // "READY"

    /// Renders the sound at `sampleRate` with its peak at `level` × full scale (clamped to 0…1).
    public static func render(sampleRate: Int, level: Double, durationMs: Double = durationMs) -> [Int16] {
        let level = min(1, max(0, level))
        let rate = Double(sampleRate)
        let count = Int(durationMs * rate / 1000)
        var wave = pinkNoise(count: count, sampleRate: rate)
        // Noise normalised to unit RMS, under its envelope.
        let rms = (wave.reduce(0) { $0 + $1 * $1 } / Double(max(1, count))).squareRoot()
        let fadeIn = fadeInMs * rate / 1000, fadeOut = fadeOutMs * rate / 1000
        for n in 0..<count {
            let t = Double(n)
            var e = 1.0
            if t < fadeIn { e = 0.5 - 0.5 * cos(Double.pi * t / fadeIn) }
            let left = Double(count - 1 - n)
            if left < fadeOut { e *= 0.5 - 0.5 * cos(Double.pi * left / fadeOut) }
            wave[n] = rms > 0 ? wave[n] / rms * e : 0
        }
        // The chime: sine notes with a second harmonic, 8 ms attack, an exponential decay and a
        // 20 ms release (no note ends with a step).
        let attack = 0.008 * rate, release = 0.02 * rate
        for note in chime {
            let start = Int(note.startMs * rate / 1000), length = Int(note.ms * rate / 1000)
            for k in 0..<length where start + k < count {
                let t = Double(k), left = Double(length - 1 - k)
                let env = (t < attack ? 0.5 - 0.5 * cos(Double.pi * t / attack) : 1) * exp(-3 * t / Double(length))
                    * (left < release ? 0.5 - 0.5 * cos(Double.pi * left / release) : 1)
                let phase = 2 * Double.pi * note.hz * t / rate
                wave[start + k] += chimeShare * 3 * env * (sin(phase) + 0.2 * sin(2 * phase))
            }
        }
        let peak = wave.reduce(0) { max($0, abs($1)) }
        let scale = peak > 0 ? level * 32767 / peak : 0
        return wave.map { PCM.clampToInt16($0 * scale) }
    }

    /// Seeded white noise through Paul Kellet's pink filter (−3 dB/octave), then a one-pole
    /// high-pass at `lowHz` and two one-pole low-passes at `highHz`.
    static func pinkNoise(count: Int, sampleRate rate: Double) -> [Double] {
        var noise = SeededNoise(seed: seed)
        var b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0, b4 = 0.0, b5 = 0.0, b6 = 0.0
        let hp = exp(-2 * Double.pi * lowHz / rate), lp = exp(-2 * Double.pi * min(highHz, rate * 0.45) / rate)
        var hpIn = 0.0, hpOut = 0.0, lp1 = 0.0, lp2 = 0.0
        var out = [Double](repeating: 0, count: count)
        for n in 0..<count {
            let w = noise.normal()
            b0 = 0.99886 * b0 + w * 0.0555179
            b1 = 0.99332 * b1 + w * 0.0750759
            b2 = 0.96900 * b2 + w * 0.1538520
            b3 = 0.86650 * b3 + w * 0.3104856
            b4 = 0.55000 * b4 + w * 0.5329522
            b5 = -0.7616 * b5 - w * 0.0168980
            let pink = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362
            b6 = w * 0.115926
            hpOut = hp * (hpOut + pink - hpIn)
            hpIn = pink
            lp1 = (1 - lp) * hpOut + lp * lp1
            lp2 = (1 - lp) * lp1 + lp * lp2
            out[n] = lp2
        }
        return out
    }
}
