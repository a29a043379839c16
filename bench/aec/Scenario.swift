// One benchmark run: a far-end signal played into a simulated room, a near-end talker mixed
// into the microphone for a while, the echo pipeline on the microphone; figures from the
// signals, not from the pipeline's own opinion.
#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniLinux

struct Scenario {
    var name: String
    var room: RoomSpec
    var seconds: Double
    /// Where the near-end talker speaks over the far end, s.
    var doubleTalk: Range<Double>?
    /// Where ERLE after convergence is measured (far end only), s.
    var erleWindow: Range<Double>
    var pipeline = EchoPipeline.Settings()
    var canceller = SpeexEchoCanceller.Settings()
}

struct Figures {
    var erle: Double
    /// From the first far-end sound to the end of the first window from which on every active
    /// window reaches 20 dB (before the double talk), s; nil if never.
    var convergence: Double?
    /// The same ERLE measure over the far-end-only stretch after the double talk.
    var erleAfterDoubleTalk: Double?
    /// Output level minus the near-end talker's level at the microphone during double talk, dB.
    var nearEndKept: Double?
    /// CPU seconds of the echo pipeline per minute of audio (this thread only).
    var cpuPerMinute: Double
    /// What the pipeline measured (nil for an external canceller).
    var status: EchoPipelineStatus?
    /// The longest single `process` call (a frame with a delay measurement), ms of CPU.
    var worstFrameMs: Double?
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum Bench {
    static let rate = Signals.rate
    static let window = rate / 4  // 250 ms analysis windows
    static let activeLevel = -40.0  // dBFS: a window with less echo than this is a pause (or a reverberation tail)

    /// The signals of one scenario, before any canceller: the room is independent of it.
    struct Recording {
        var echo: [Int16]       // what the room added at the microphone (echo + noise)
        var nearAtMic: [Int16]  // the near-end talker
        var mic: [Int16]        // their sum
        var speaker: [Int16]    // what the speaker played, on its own clock
        var due: [Int]          // speaker samples played by the end of each microphone frame
        var frame: Int
    }

    static func record(_ s: Scenario, far: [Int16], near: [Int16], frame n: Int) -> Recording {
        let room = RoomSimulator(spec: s.room, sampleRate: rate)
        let total = Int(s.seconds * Double(rate)) / n * n
        var r = Recording(echo: [Int16](repeating: 0, count: total), nearAtMic: [Int16](repeating: 0, count: total),
                          mic: [Int16](repeating: 0, count: total), speaker: [], due: [], frame: n)
        if let dt = s.doubleTalk {
            let a = Int(dt.lowerBound * Double(rate)), b = min(total, Int(dt.upperBound * Double(rate)))
            for i in a..<b { r.nearAtMic[i] = near[(i - a) % near.count] }
        }
        // The speaker plays on its own clock: 1/(1 + drift) speaker samples per microphone sample.
        let step = 1 / (1 + s.room.driftPPM * 1e-6)
        var m = 0
        while m < total {
            let due = Int((Double(m + n) * step).rounded())
            if due > r.speaker.count {
                let chunk = (r.speaker.count..<due).map { $0 < far.count ? far[$0] : 0 }
                chunk.withUnsafeBufferPointer { room.play($0) }
                r.speaker += chunk
            }
            r.due.append(r.speaker.count)
            r.echo.withUnsafeMutableBufferPointer { room.capture(into: UnsafeMutableBufferPointer(rebasing: $0[m..<(m + n)])) }
            for i in m..<(m + n) { r.mic[i] = PCM.saturate(Int32(r.echo[i]) + Int32(r.nearAtMic[i])) }
            m += n
        }
        return r
    }

    /// The production path: EchoPipeline around SpeexEchoCanceller; CPU of `process` only.
    static func run(_ s: Scenario, far: [Int16], near: [Int16]) throws -> Figures {
        let canceller = try SpeexEchoCanceller(settings: s.canceller)
        let pipeline = EchoPipeline(canceller: canceller, settings: s.pipeline)
        let r = record(s, far: far, near: near, frame: pipeline.frameSize)
        let n = r.frame
        var out = [Int16](repeating: 0, count: r.mic.count)
        var cpu = 0.0, worst = 0.0
        var pushed = 0
        for (k, due) in r.due.enumerated() {
            r.speaker.withUnsafeBufferPointer { pipeline.pushReference(UnsafeBufferPointer(rebasing: $0[pushed..<due])) }
            pushed = due
            let t0 = threadCPU()
            r.mic.withUnsafeBufferPointer { mp in
                out.withUnsafeMutableBufferPointer { op in pipeline.process(microphone: mp.baseAddress! + k * n, output: op.baseAddress! + k * n) }
            }
            let spent = threadCPU() - t0
            cpu += spent
            worst = max(worst, spent)
        }
        var f = figures(s, r, out: out, cpu: cpu, status: pipeline.status)
        f.worstFrameMs = worst * 1000
        return f
    }

    /// An external canceller (bench/aec/webrtc): raw files in, raw file out, `cpu_s=` on stdout.
    /// Static rooms only: it gets the speaker stream sample-synchronous with the microphone.
    static func runExternal(_ s: Scenario, command: String, far: [Int16], near: [Int16], scratch: String) throws -> Figures {
        let r = record(s, far: far, near: near, frame: rate / 100)
        func write(_ x: [Int16], _ path: String) {
            guard let f = fopen(path, "wb") else { return }
            x.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 2, $0.count, f) }
            fclose(f)
        }
        write(Array(r.speaker.prefix(r.mic.count)), "\(scratch)/ref.raw")
        write(r.mic, "\(scratch)/mic.raw")
        guard let p = popen("\(command) '\(scratch)/ref.raw' '\(scratch)/mic.raw' '\(scratch)/out.raw' \(Int(s.room.delayMs.rounded()))", "r") else {
            throw BenchError("cannot run \(command)")
        }
        var cpu = 0.0
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, p) != nil {
            let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if text.hasPrefix("cpu_s=") { cpu = Double(text.dropFirst(6).filter { !$0.isWhitespace }) ?? 0 }
        }
        guard pclose(p) == 0, let bytes = Signals.readFile("\(scratch)/out.raw"), bytes.count >= r.mic.count * 2 else {
            throw BenchError("\(command) failed")
        }
        let out = (0..<r.mic.count).map { Int16(bitPattern: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
        return figures(s, r, out: out, cpu: cpu, status: nil)
    }

    static func figures(_ s: Scenario, _ r: Recording, out: [Int16], cpu: Double, status: EchoPipelineStatus?) -> Figures {
        let echo = r.echo, nearAtMic = r.nearAtMic, total = r.mic.count
        // ERLE per 250 ms window where the far end is heard and the near end is not.
        func energy(_ x: [Int16], _ r: Range<Int>) -> Double { r.reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) } }
        let threshold = Double(window) * pow(32768 * pow(10, activeLevel / 20), 2)
        let dtRange = s.doubleTalk.map { Int($0.lowerBound * Double(rate))..<Int($0.upperBound * Double(rate)) }
        func erle(over seconds: Range<Double>) -> Double {
            var e = 0.0, o = 0.0
            var w = Int(seconds.lowerBound * Double(rate)) / window * window
            while w + window <= min(total, Int(seconds.upperBound * Double(rate))) {
                let r = w..<(w + window)
                if energy(echo, r) >= threshold, energy(nearAtMic, r) == 0 { e += energy(echo, r); o += energy(out, r) }
                w += window
            }
            return 10 * log10(e / max(o, 1))
        }
        // Convergence: ERLE over a sliding 0.5 s (two 250 ms windows, active ones only), the end
        // of the first such half second from which on every later one reaches 20 dB.
        let firstSound = r.speaker.firstIndex { abs($0) > 100 } ?? 0
        let convergenceEnd = dtRange?.lowerBound ?? total
        var blocks: [(echo: Double, out: Double)] = []
        var w = 0
        while w + window <= convergenceEnd {
            let r = w..<(w + window)
            blocks.append(energy(echo, r) >= threshold ? (energy(echo, r), energy(out, r)) : (0, 0))
            w += window
        }
        var convergence: Double?
        for end in stride(from: 2, through: blocks.count, by: 1) {
            let e = blocks[(end - 2)..<end].reduce(0.0) { $0 + $1.echo }, o = blocks[(end - 2)..<end].reduce(0.0) { $0 + $1.out }
            guard e > 0 else { continue }
            let value = 10 * log10(e / max(o, 1))
            if getenv("AEC_TRACE") != nil { print("  t=\(Double(end * window) / Double(rate)) ERLE(0.5 s) \(Int(value))") }
            if value >= 20 {
                if convergence == nil { convergence = Double(end * window - firstSound) / Double(rate) }
            } else {
                convergence = nil
            }
        }
        var nearKept: Double?
        var afterDT: Double?
        if let dt = s.doubleTalk, let dr = dtRange {
            var nearE = 0.0, outE = 0.0
            var w = dr.lowerBound
            while w + window <= dr.upperBound {
                let r = w..<(w + window)
                if energy(nearAtMic, r) >= threshold { nearE += energy(nearAtMic, r); outE += energy(out, r) }
                w += window
            }
            if nearE > 0 { nearKept = 10 * log10(outE / nearE) }
            if dt.upperBound + 1 < s.seconds { afterDT = erle(over: (dt.upperBound + 0.5)..<s.seconds) }
        }
        return Figures(erle: erle(over: s.erleWindow), convergence: convergence, erleAfterDoubleTalk: afterDT,
                       nearEndKept: nearKept, cpuPerMinute: cpu / (Double(total) / Double(rate)) * 60, status: status)
    }

    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
