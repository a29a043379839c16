// Speech-like test signals for the echo benchmark, made at run time (nothing committed):
// espeak-ng reading paragraphs (a male voice for the far end — the answer the speaker plays —
// and a female one for the near-end talker), resampled to 16 kHz with speexdsp; or, without
// espeak-ng (or with --synthetic), seeded noise shaped like speech: a low-passed spectrum
// tilted like a voice's, switched on and off in syllables and phrases.
#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniLinux

enum Signals {
    static let rate = 16_000

    static let farTexts = [
        "The weather in Hangzhou today is mild, with light clouds in the morning and a chance of rain after four. Temperatures stay between fourteen and nineteen degrees, and the wind comes from the east at about ten kilometres an hour.",
        "To make a simple tomato soup, soften an onion in olive oil, add two cloves of garlic, then the tomatoes and a little stock. Let it simmer for twenty minutes, blend it until smooth, and season it with salt, pepper and a pinch of sugar.",
        "Your next meeting is at half past two with the design team. After that you have an hour free, and at four o'clock there is a call with the supplier about the delivery dates for next month.",
        "The train to Shanghai leaves every twenty minutes from the east station. The fastest one takes about forty five minutes, and a second class ticket costs around seventy yuan if you book it on the day.",
    ]
    static let nearTexts = [
        "Wait, stop, I meant the weather for tomorrow, not today.",
        "No, no, can you tell me about the train instead please?",
        "Sorry to interrupt, how long does the soup keep in the fridge?",
    ]

    /// `seconds` of far-end speech (answers with their natural pauses) at 16 kHz, RMS of the
    /// active parts at `levelDBFS`.
    static func farEnd(seconds: Double, levelDBFS: Double, synthetic: Bool, scratch: String) -> [Int16] {
        let base = synthetic ? speechLikeNoise(seconds: 30, seed: 11) : (speak(farTexts, voice: "en-us", speed: 165, scratch: scratch) ?? speechLikeNoise(seconds: 30, seed: 11))
        return normalized(loop(base, to: Int(seconds * Double(rate))), levelDBFS: levelDBFS)
    }

    static func nearEnd(seconds: Double, levelDBFS: Double, synthetic: Bool, scratch: String) -> [Int16] {
        let base = synthetic ? speechLikeNoise(seconds: 12, seed: 23) : (speak(nearTexts, voice: "en-us+f3", speed: 175, scratch: scratch) ?? speechLikeNoise(seconds: 12, seed: 23))
        return normalized(loop(base, to: Int(seconds * Double(rate))), levelDBFS: levelDBFS)
    }

    static var espeakAvailable: Bool { system("command -v espeak-ng >/dev/null 2>&1") == 0 }

    /// Each text through espeak-ng, 16 kHz, 0.6 s of silence between them (the pause between sentences).
    static func speak(_ texts: [String], voice: String, speed: Int, scratch: String) -> [Int16]? {
        guard espeakAvailable else { return nil }
        var out: [Int16] = []
        for (i, text) in texts.enumerated() {
            let path = "\(scratch)/\(String(voice.map { $0 == "+" ? "_" : $0 }))-\(i).wav"
            let status = system("espeak-ng -v '\(voice)' -s \(speed) -w '\(path)' '\(String(text.filter { $0 != "'" }))' >/dev/null 2>&1")
            guard status == 0, let bytes = readFile(path), let wav = try? WAV.decode(bytes) else { return nil }
            var mono = [Int16](repeating: 0, count: wav.frameCount)
            for f in 0..<wav.frameCount { mono[f] = wav.samples[f * wav.channels] }
            guard let resampler = try? makeResampler(from: wav.sampleRate, to: rate) else { return nil }
            var converted: [Int16] = []
            resampler.convert(mono, appendingTo: &converted)
            resampler.finish(into: &converted)
            out += converted
            out += [Int16](repeating: 0, count: rate * 6 / 10)
        }
        return out
    }

    /// Seeded speech-shaped noise: white noise through a 2-pole low-pass (−12 dB/octave above
    /// ~600 Hz, like a voice's spectral tilt), gated into 120–350 ms syllables, 50–150 ms gaps,
    /// and phrases with 0.4–1 s pauses.
    static func speechLikeNoise(seconds: Double, seed: UInt64) -> [Int16] {
        var rng = SeededNoise(seed: seed)
        let count = Int(seconds * Double(rate))
        var out = [Int16](repeating: 0, count: count)
        var y1 = 0.0, y2 = 0.0
        var i = 0
        while i < count {
            let syllables = 3 + Int(rng.uniform() * 6)
            for _ in 0..<syllables where i < count {
                let length = Int((0.12 + 0.23 * rng.uniform()) * Double(rate))
                let loudness = 0.5 + rng.uniform()
                for k in 0..<length where i + k < count {
                    let x = rng.normal()
                    let y = 1.6 * y1 - 0.68 * y2 + 0.08 * x
                    y2 = y1; y1 = y
                    let envelope = sin(Double.pi * Double(k) / Double(length))
                    out[i + k] = PCM.clampToInt16(y * envelope * loudness * 20_000)
                }
                i += length + Int((0.05 + 0.1 * rng.uniform()) * Double(rate))
            }
            i += Int((0.4 + 0.6 * rng.uniform()) * Double(rate))
        }
        return out
    }

    static func loop(_ s: [Int16], to count: Int) -> [Int16] {
        guard !s.isEmpty else { return [Int16](repeating: 0, count: count) }
        var out: [Int16] = []
        out.reserveCapacity(count)
        while out.count < count { out += s.prefix(count - out.count) }
        return out
    }

    /// Scales so that the RMS of the active samples (20 ms blocks within 30 dB of the loudest) is `levelDBFS`.
    static func normalized(_ s: [Int16], levelDBFS: Double) -> [Int16] {
        let block = rate / 50
        var energies: [Double] = []
        var i = 0
        while i + block <= s.count {
            var e = 0.0
            for k in i..<(i + block) { e += Double(s[k]) * Double(s[k]) }
            energies.append(e / Double(block))
            i += block
        }
        let loudest = energies.max() ?? 0
        let active = energies.filter { $0 > loudest * 1e-3 }
        guard !active.isEmpty else { return s }
        let rms = (active.reduce(0, +) / Double(active.count)).squareRoot()
        let scale = 32768 * pow(10, levelDBFS / 20) / rms
        return s.map { PCM.clampToInt16(Double($0) * scale) }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}
