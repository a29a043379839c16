#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import Synchronization

// Where `test-audio --echo` gets its recording: the configured devices through the same engine
// the daemon uses (play the signal, record meanwhile), or — for `file:` devices with an
// `[audio] room` — the simulated room itself, so the check can be tried without hardware.

public enum EchoCheckError: Error, CustomStringConvertible {
    case device(String)
    case room(String)

    public var description: String {
        switch self {
        case .device(let why): "no recording: \(why)"
        case .room(let why): "simulated room: \(why)"
        }
    }
}

extension EchoCheck {
    /// The recording for `signal` (16 kHz) plus a second of tail, and where it came from.
    public static func record(_ signal: [Int16], audio: OmniConfig.Audio, options: AudioEngine.Options = AudioEngine.Options(),
                              logger: Logger = Logger(label: "omnid.test-audio")) throws -> (recorded: [Int16], source: String) {
        if let room = audio.room {
            return (try simulate(signal, room: room), "simulated room \(room)")
        }
        return (try playAndRecord(signal, audio: audio, options: options, logger: logger),
                "played on \(audio.playback), recorded from \(audio.capture)")
    }

    /// `signal` through the simulated room (speaker and microphone on one clock unless the room drifts).
    public static func simulate(_ signal: [Int16], room: RoomSpec) throws -> [Int16] {
        var ir: [Float]?
        if let file = room.irFile {
            do {
                ir = try RoomImpulseResponse.measured(WAV.decode(Files.readRegularFileBytes(file, limit: 64 << 20).get()), spec: room, sampleRate: rate)
            } catch {
                throw EchoCheckError.room("ir=\(file): \(error)")
            }
        }
        let sim = RoomSimulator(spec: room, sampleRate: rate, impulseResponse: ir)
        let total = signal.count + rate
        var recorded = [Int16](repeating: 0, count: total)
        let step = 1 / (1 + room.driftPPM * 1e-6)
        var played = 0
        let period = rate / 50
        for start in stride(from: 0, to: total, by: period) {
            let n = min(period, total - start)
            // The speaker's clock: 1/(1 + drift) of its samples per microphone sample.
            let due = min(total, Int((Double(start + n) * step).rounded()))
            if due > played {
                let chunk = (played..<due).map { $0 < signal.count ? signal[$0] : 0 }
                chunk.withUnsafeBufferPointer { sim.play($0) }
                played = due
            }
            recorded.withUnsafeMutableBufferPointer { sim.capture(into: UnsafeMutableBufferPointer(rebasing: $0[start..<(start + n)])) }
        }
        return recorded
    }

    /// Plays `signal` through the engine while recording the microphone from the same moment.
    static func playAndRecord(_ signal: [Int16], audio: OmniConfig.Audio, options: AudioEngine.Options, logger: Logger) throws -> [Int16] {
        let lost = Mutex<String?>(nil)
        var config = audio
        config.earcons = false
        let engine = AudioEngine(config: config, options: options, logger: logger) { event in
            if case .deviceLost(_, let reason) = event { lost.withLock { $0 = reason } }
        }
        do {
            try engine.start(waitForDevice: false)
        } catch {
            throw EchoCheckError.device("\(error)")
        }
        defer { engine.stop() }
        let upsampler = try makeResampler(from: rate, to: AudioEngine.playbackInputRate)
        var answer: [Int16] = []
        upsampler.convert(signal, appendingTo: &answer)
        upsampler.finish(into: &answer)
        // Index 0 of the recording and of the signal are now, give or take the output latency,
        // which the analysis measures along with the air's delay.
        engine.discardCaptured()
        engine.enqueuePlayback(samples24k: answer)
        engine.endOfAnswer()

        let wanted = signal.count + rate
        var recorded: [Int16] = []
        recorded.reserveCapacity(wanted)
        var chunk = [Int16](repeating: 0, count: 1_600)
        let deadline = now() + Double(wanted) / Double(rate) * 4 + 3
        while recorded.count < wanted {
            if let reason = lost.withLock({ $0 }) { throw EchoCheckError.device(reason) }
            if now() > deadline { throw EchoCheckError.device("the capture device delivered too little") }
            let n = chunk.withUnsafeMutableBufferPointer { engine.readCaptured(into: $0) }
            if n == 0 {
                var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
                nanosleep(&pause, nil)
                continue
            }
            recorded.append(contentsOf: chunk[0..<min(n, wanted - recorded.count)])
        }
        return recorded
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
