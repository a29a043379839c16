#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore

// The audio engine benchmark (bench/audio): process CPU time per minute of full-duplex audio.
//
// Scenario — the busiest a turn gets, sustained: the capture ring is drained and converted to
// 16 kHz every period (as while the button is held), and an answer plays the whole time (24 kHz
// in, converted to the device rate), with an earcon every 5 s. Devices: whatever the config
// names (a real card on the board), or `AudioBenchmark.nullDevices(in:)` — alsa-lib's file
// plugin over `null` at 48 kHz stereo, the production ALSA code path without hardware.
// CPU is getrusage(RUSAGE_SELF) over the measured stretch: the audio thread, the conversions,
// the monitor thread and this driver loop (everything the daemon's audio costs).

public struct AudioBenchmarkResult: Sendable, CustomStringConvertible {
    public var audioSeconds: Double
    public var wallSeconds: Double
    public var speed: Double
    public var processCPU: Duration
    public var audioThreadCPU: Duration
    public var capture: AudioDeviceFormat?
    public var playback: AudioDeviceFormat?
    public var captured16k: Int
    public var answerFrames: Int
    public var underruns: Int
    public var xruns: Int

    /// Process CPU milliseconds per minute of audio.
    public var cpuMsPerMinute: Double { ms(processCPU) * 60 / audioSeconds }
    public var audioThreadMsPerMinute: Double { ms(audioThreadCPU) * 60 / audioSeconds }

    private func ms(_ d: Duration) -> Double {
        d.milliseconds
    }

    public var description: String {
        func f(_ v: Double, _ digits: Int = 0) -> String {
            let scale = digits == 0 ? 1.0 : digits == 1 ? 10.0 : 100.0
            let r = (v * scale).rounded() / scale
            return digits == 0 ? String(Int(r)) : String(r)
        }
        return [
            "AUDIO BENCH: \(f(audioSeconds)) s of full-duplex audio in \(f(wallSeconds, 1)) s wall (\(f(speed, 1))x real time)",
            "  capture  \(capture.map { "\($0)" } ?? "?")",
            "  playback \(playback.map { "\($0)" } ?? "?")",
            "  CPU: \(f(cpuMsPerMinute)) ms per minute of audio = \(f(cpuMsPerMinute / 600, 2)) % of one core",
            "       audio thread \(f(audioThreadMsPerMinute)) ms/min, conversion + monitor + driver \(f(cpuMsPerMinute - audioThreadMsPerMinute)) ms/min",
            "  captured \(captured16k) samples at 16 kHz, played \(answerFrames) answer frames, underruns \(underruns), xruns \(xruns)",
        ].joined(separator: "\n")
    }
}

public enum AudioBenchmark {
    /// Writes an ALSA config with two PCMs, `omni_bench_capture` and `omni_bench_playback`:
    /// the file plugin over a 2-channel `null` (capture reads `speech.raw`, 4 s of 48 kHz
    /// stereo, written here too; playback output goes to /dev/null). Returns the config path.
    public static func nullDevices(in directory: String) throws -> String {
        var speech: [Int16] = []
        speech.reserveCapacity(48_000 * 4 * 2)
        for n in 0..<(48_000 * 4) {
            let t = Double(n) / 48_000
            let v = PCM.clampToInt16(5000 * sin(2 * Double.pi * 220 * t) + 2000 * sin(2 * Double.pi * 1300 * t))
            speech.append(v)
            speech.append(v)
        }
        try write(speech.withUnsafeBytes { Array($0) }, to: "\(directory)/speech.raw")
        let conf = """
            pcm.omni_bench_null2 {
                type multi
                slaves.a { pcm "null"; channels 2 }
                bindings.0 { slave a; channel 0 }
                bindings.1 { slave a; channel 1 }
            }
            pcm.omni_bench_capture {
                type file
                slave.pcm "omni_bench_null2"
                file "/dev/null"
                infile "\(directory)/speech.raw"
                format "raw"
            }
            pcm.omni_bench_playback {
                type file
                slave.pcm "omni_bench_null2"
                file "/dev/null"
                format "raw"
            }

            """
        try write(Array(conf.utf8), to: "\(directory)/asound.conf")
        return "\(directory)/asound.conf"
    }

    /// The audio config for `nullDevices`: 48 kHz both ways, 20 ms periods, earcons on.
    public static func nullDeviceConfig(base: OmniConfig.Audio) -> OmniConfig.Audio {
        var c = base
        c.capture = "omni_bench_capture"
        c.playback = "omni_bench_playback"
        c.captureRate = 48_000
        c.playbackRate = 48_000
        c.periodMs = 20
        c.bufferPeriods = 4
        c.earcons = true
        return c
    }

    /// Runs the scenario for `seconds` of audio. With `options.pacing = .clock(speed:)` the
    /// loop runs faster than real time (same work per period, fewer wall seconds).
    public static func run(config: OmniConfig.Audio, options: AudioEngine.Options, seconds: Double,
                           logger: Logger = Logger(label: "omnid.audio.bench")) throws -> AudioBenchmarkResult {
        var speed = 1.0
        if case .clock(let s) = options.pacing { speed = s }
        let engine = AudioEngine(config: config, options: options, logger: logger)
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        let periodMs = Double(max(1, config.periodMs))
        let warmup = monotonicNanos() + 2_000_000_000
        while engine.counters.loopIterations < 10 && monotonicNanos() < warmup {
            sleepUntil(monotonicNanos: monotonicNanos() + 5_000_000)
        }

        // 20 ms of a 330 Hz answer at 24 kHz, queued like response.audio.delta events.
        let chunk = (0..<480).map { PCM.clampToInt16(6000 * sin(2 * Double.pi * 330 * Double($0) / 24_000)) }
        let periods = Int(seconds * 1000 / periodMs)
        let cpu0 = processCPUNanos()
        let wall0 = monotonicNanos()
        let start = engine.counters
        var captured = 0
        var nextEarcon = Int(5000 / periodMs)
        var buffer = [Int16](repeating: 0, count: 4096)
        let tick = Int(periodMs * 1e6 / speed)
        var next = monotonicNanos()
        while engine.counters.loopIterations - start.loopIterations < periods {
            while true {
                let n = buffer.withUnsafeMutableBufferPointer { engine.readCaptured(into: $0) }
                captured += n
                if n < buffer.count { break }
            }
            while engine.queuedPlaybackMs < 100 { engine.enqueuePlayback(samples24k: chunk) }
            if engine.counters.loopIterations - start.loopIterations >= nextEarcon {
                engine.playEarcon(.listeningStart)
                nextEarcon += Int(5000 / periodMs)
            }
            next += tick
            sleepUntil(monotonicNanos: max(next, monotonicNanos()))
        }
        let cpu = processCPUNanos() - cpu0
        let wall = monotonicNanos() - wall0
        let end = engine.counters
        let status = engine.status
        return AudioBenchmarkResult(
            audioSeconds: Double(end.loopIterations - start.loopIterations) * periodMs / 1000,
            wallSeconds: Double(wall) / 1e9, speed: speed, processCPU: .nanoseconds(cpu),
            audioThreadCPU: end.audioThreadCPU - start.audioThreadCPU, capture: status.capture,
            playback: status.playback, captured16k: captured,
            answerFrames: end.answerFramesPlayed - start.answerFramesPlayed,
            underruns: end.underruns - start.underruns, xruns: end.xruns - start.xruns)
    }

    static func processCPUNanos() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AudioDeviceError(device: path, operation: "create", code: -errno) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AudioDeviceError(device: path, operation: "write", code: -errno)
            }
            done += n
        }
    }
}
