#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import Synchronization

// `omnid test-audio --seconds N`: records N seconds through the same engine the daemon uses,
// reports peak and RMS level (and clipping), then plays the recording back.

public struct AudioSelfTestResult: Sendable, Equatable, CustomStringConvertible {
    public var capture: AudioDeviceFormat?
    public var playback: AudioDeviceFormat?
    /// 16 kHz mono samples recorded.
    public var samples: Int
    public var peak: Int
    public var peakDBFS: Double
    public var rms: Double
    public var rmsDBFS: Double
    /// Samples at (or within 1 of) full scale.
    public var clippedSamples: Int
    public var playedBack: Bool
    public var counters: AudioCounters
    public var realtimePriority: Int?

    public var description: String {
        func db(_ v: Double) -> String { v.isFinite ? "\(oneDecimal(v)) dBFS" : "-inf dBFS (silence)" }
        var lines: [String] = []
        if let capture { lines.append("capture:  \(capture)") }
        if let playback { lines.append("playback: \(playback)") }
        lines.append("audio thread: " + (realtimePriority.map { "SCHED_FIFO \($0)" } ?? "normal priority"))
        lines.append("recorded \(oneDecimal(Double(samples) / 16_000)) s at 16 kHz mono")
        lines.append("peak \(peak) (\(db(peakDBFS))), RMS \(oneDecimal(rms)) (\(db(rmsDBFS)))")
        if clippedSamples > 0 { lines.append("warning: \(clippedSamples) samples clipped — lower the capture gain (alsamixer)") }
        if peak < 33 { lines.append("warning: no signal — check the capture device and its mixer level") }
        if counters.xruns > 0 { lines.append("xruns: \(counters.captureXruns) capture, \(counters.playbackXruns) playback") }
        lines.append(playedBack ? "played the recording back" : "playback skipped")
        return lines.joined(separator: "\n")
    }
}

public enum AudioSelfTestError: Error, CustomStringConvertible {
    case noAudio(String)
    case playbackTimedOut

    public var description: String {
        switch self {
        case .noAudio(let why): "no audio captured: \(why)"
        case .playbackTimedOut: "playback did not finish"
        }
    }
}

public enum AudioSelfTest {
    /// Records `seconds`, measures, and (with `playBack`) plays the recording back.
    public static func run(config: OmniConfig.Audio, seconds: Double, playBack: Bool = true,
                           options: AudioEngine.Options = AudioEngine.Options(),
                           logger: Logger = Logger(label: "omnid.test-audio")) throws -> AudioSelfTestResult {
        let drained = Atomic<Int>(0)
        let lost = Mutex<String?>(nil)
        let engine = AudioEngine(config: config, options: options, logger: logger) { event in
            switch event {
            case .playbackDrained: drained.wrappingAdd(1, ordering: .relaxed)
            case .deviceLost(_, let reason): lost.withLock { $0 = reason }
            default: break
            }
        }
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        engine.discardCaptured()

        let wanted = max(1, Int(seconds * 16_000))
        var recording: [Int16] = []
        recording.reserveCapacity(wanted)
        var chunk = [Int16](repeating: 0, count: 1_600)
        let deadline = monotonicNanos() + Int((seconds * 4 + 3) * 1e9)
        while recording.count < wanted {
            if let reason = lost.withLock({ $0 }) { throw AudioSelfTestError.noAudio(reason) }
            if monotonicNanos() > deadline { throw AudioSelfTestError.noAudio("the capture device delivered too little") }
            let n = chunk.withUnsafeMutableBufferPointer { engine.readCaptured(into: $0) }
            if n == 0 {
                sleepUntil(monotonicNanos: monotonicNanos() + 10_000_000)
                continue
            }
            recording.append(contentsOf: chunk[0..<min(n, wanted - recording.count)])
        }

        var meter = LevelMeter()
        meter.add(recording)
        let clipped = recording.reduce(0) { $0 + (abs(Int($1)) >= 32766 ? 1 : 0) }

        var played = false
        if playBack {
            let upsampler = try makeResampler(from: 16_000, to: AudioEngine.playbackInputRate)
            var answer: [Int16] = []
            upsampler.convert(recording, appendingTo: &answer)
            upsampler.finish(into: &answer)
            engine.enqueuePlayback(samples24k: answer)
            engine.endOfAnswer()
            let end = monotonicNanos() + Int((seconds * 4 + 3) * 1e9)
            while drained.load(ordering: .relaxed) == 0 {
                if monotonicNanos() > end { throw AudioSelfTestError.playbackTimedOut }
                sleepUntil(monotonicNanos: monotonicNanos() + 10_000_000)
            }
            played = true
        }
        let status = engine.status
        return AudioSelfTestResult(capture: status.capture, playback: status.playback, samples: recording.count,
                                   peak: meter.peak, peakDBFS: meter.peakDBFS, rms: meter.rms, rmsDBFS: meter.rmsDBFS,
                                   clippedSamples: clipped, playedBack: played, counters: engine.counters,
                                   realtimePriority: status.realtimePriority)
    }
}
