#if canImport(Glibc)
import Glibc
#endif
import OmniCore

// `omnid test-audio --echo`: does the box hear itself, and does echo cancellation remove it?
// The speaker plays a measurement signal while the microphone records; this file judges the
// recording (EchoCheck+Recording.swift makes it): the bulk delay and drift the echo pipeline
// measures, how loud the echo comes back (echo return loss), and the echo return loss
// enhancement of the production canceller over the signal's last seconds — then a verdict and
// the omni.conf lines to use. Silence, clipping or no echo path at all fail the check.

public struct EchoCheckResult: Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        /// The microphone recorded (next to) nothing.
        case silent
        /// This many recorded samples were at full scale.
        case clipping(Int)
        /// The speaker's signal is not in the recording.
        case noEchoPath

        public var description: String {
            switch self {
            case .silent: "the microphone recorded silence — check the capture device and its mixer level"
            case .clipping(let n): "\(n) samples clipped — lower the speaker volume or the capture gain (alsamixer)"
            case .noEchoPath: "the microphone does not hear the speaker — check that the speaker plays and is not muted"
            }
        }
    }

    public enum Verdict: String, Sendable, Equatable {
        case good, fair, poor, failed
    }

    /// Speaker → microphone delay as the streams see it (device buffers + air), ms.
    public var delayMs: Double?
    public var driftPPM: Double
    /// Echo level at the microphone relative to the signal sent to the speaker, dB.
    public var echoReturnLossDB: Double?
    /// Echo removed by the canceller over the last seconds of the signal, dB.
    public var erleDB: Double?
    public var problems: [Problem]
    public var filterMs: Int

    public var verdict: Verdict {
        guard problems.isEmpty, let erleDB else { return .failed }
        return erleDB >= 25 ? .good : erleDB >= 15 ? .fair : .poor
    }

    public var passed: Bool { verdict != .failed }

    /// What to put in /etc/omni.conf.
    public var configLines: [String] {
        guard passed else { return [] }
        var lines = ["[audio]", "echo_cancel = \"on\"", "echo_filter_ms = \(filterMs)"]
        if let delayMs { lines.append("# measured: echo delay \(Int(delayMs.rounded())) ms, clock drift \(Int(driftPPM.rounded())) ppm (measured again at run time)") }
        return lines
    }

    public var description: String {
        func db(_ v: Double?) -> String { v.map { "\(($0 * 10).rounded() / 10) dB" } ?? "-" }
        var lines: [String] = []
        lines.append("echo delay: " + (delayMs.map { "\(Int($0.rounded())) ms" } ?? "not found"))
        lines.append("clock drift (speaker vs microphone): \(Int(driftPPM.rounded())) ppm")
        lines.append("echo level at the microphone: \(db(echoReturnLossDB)) relative to the speaker signal")
        lines.append("echo removed by the canceller (ERLE, last 3 s): \(db(erleDB))")
        for p in problems { lines.append("error: \(p)") }
        switch verdict {
        case .good: lines.append("verdict: good — echo cancellation works here")
        case .fair: lines.append("verdict: fair — some echo remains; lower the speaker volume or move the microphone away from the speaker")
        case .poor: lines.append("verdict: poor — the canceller cannot follow this echo (distortion or rattle at this volume?); lower the volume and try again")
        case .failed: lines.append("verdict: failed")
        }
        if !configLines.isEmpty { lines.append("config lines for /etc/omni.conf:"); lines += configLines.map { "  " + $0 } }
        return lines.joined(separator: "\n")
    }
}

public enum EchoCheck {
    public static let rate = 16_000

    /// The measurement signal: seeded speech-shaped noise (a voice's spectral tilt, syllable-like
    /// bursts), long enough for the canceller to converge, at −20 dBFS RMS while on.
    public static func measurementSignal(seconds: Double = 10) -> [Int16] {
        var rng = SeededNoise(seed: 0xEC40)
        var out = [Int16](repeating: 0, count: Int(seconds * Double(rate)))
        var y1 = 0.0, y2 = 0.0, i = 0
        while i < out.count {
            let length = Int((0.15 + 0.2 * rng.uniform()) * Double(rate))
            for k in 0..<length where i + k < out.count {
                let y = 1.6 * y1 - 0.68 * y2 + 0.08 * rng.normal()
                y2 = y1; y1 = y
                // Envelope from 0.3 to 1 within a burst: never quite off, so the canceller keeps learning.
                let envelope = 0.3 + 0.7 * (0.5 - 0.5 * cos(2 * Double.pi * Double(k) / Double(length)))
                out[i + k] = PCM.clampToInt16(y * envelope * 9000)
            }
            i += length
        }
        return out
    }

    /// Judges `recorded` (16 kHz, index 0 at about the moment `played` started; at least as long).
    public static func analyze(played: [Int16], recorded: [Int16], audio: OmniConfig.Audio) throws -> EchoCheckResult {
        var problems: [EchoCheckResult.Problem] = []
        var meter = LevelMeter()
        meter.add(recorded)
        let clipped = recorded.reduce(0) { $0 + (abs(Int($1)) >= 32766 ? 1 : 0) }
        if meter.peak < 33 { problems.append(.silent) }
        if clipped > recorded.count / 1000 { problems.append(.clipping(clipped)) }

        var settings = EchoPipeline.Settings()
        settings.maxDelayMs = max(1000, 2 * audio.periodMs * audio.bufferPeriods + 500)
        var cancellerSettings = SpeexEchoCanceller.Settings(audio: audio)
        cancellerSettings.noiseSuppressionDB = nil  // judge the echo path, not the noise
        let pipeline = EchoPipeline(canceller: try SpeexEchoCanceller(settings: cancellerSettings), settings: settings)
        let n = pipeline.frameSize
        let total = min(recorded.count, played.count + rate) / n * n
        var out = [Int16](repeating: 0, count: total)
        var reference = [Int16](repeating: 0, count: n)
        for start in stride(from: 0, to: total, by: n) {
            for i in 0..<n { reference[i] = start + i < played.count ? played[start + i] : 0 }
            reference.withUnsafeBufferPointer { pipeline.pushReference($0) }
            recorded.withUnsafeBufferPointer { r in
                out.withUnsafeMutableBufferPointer { pipeline.process(microphone: r.baseAddress! + start, output: $0.baseAddress! + start) }
            }
        }
        let status = pipeline.status
        func level(_ x: [Int16], _ r: Range<Int>) -> Double {
            var m = LevelMeter()
            x[r].withUnsafeBufferPointer { m.add($0) }
            return m.rmsDBFS
        }
        // While the signal plays, after its first second (the echo has arrived by then).
        let span = min(rate, total)..<min(played.count, total)
        var erl: Double?
        if !span.isEmpty, level(played, span).isFinite { erl = level(recorded, span) - level(played, span) }
        // No measured path, or an "echo" 60 dB down (noise): nothing for a canceller to do.
        if status.delayMs == nil || (erl ?? -.infinity) < -60, !problems.contains(.silent) { problems.append(.noEchoPath) }
        var erle: Double?
        let tail = max(0, min(played.count, total) - 3 * rate)..<min(played.count, total)
        if !tail.isEmpty, status.delayMs != nil { erle = level(recorded, tail) - level(out, tail) }
        return EchoCheckResult(delayMs: status.delayMs, driftPPM: status.driftPPM, echoReturnLossDB: erl, erleDB: erle,
                               problems: problems, filterMs: cancellerSettings.filterMs)
    }
}
