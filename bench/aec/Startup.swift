// The first answers after a start (`omni-bench-aec --startup`): voice barge-in while the echo
// canceller is still learning the room. The same material as bench/bargein (the answer is the
// question fixture echoed back with 0.3 s of lead, the second voice is the barge-in fixture at
// the answer's level ± 3 dB, 0.28–1.28 s into the answer), through the same simulated room and
// the production echo path (EchoPipeline around SpeexEchoCanceller, start-up gate included),
// offline and seeded, so a hundred trials take seconds instead of twenty minutes. The output
// is judged by omni-sim's voice activity detector (energy of 10 ms frames ≥ −30 dBFS, the
// default threshold 0.5, for 100 ms in a row).
//
// Per trial, a fresh canceller hears `previous` whole answers (nobody speaking, 1.5 s apart),
// then the trial's answer: once with the second voice over it (detected? how long after its
// onset?) and once without (any speech_started is the echo taken for speech). `previous` = 0
// is the first answer after a start or a changed echo path.
#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniLinux

struct StartupOutcome {
    /// The second voice's onset, s after the answer's first sound.
    var intoAnswer = 0.0
    var detected = false
    /// … while the answer was still playing (a barge-in; later, it is just the next turn).
    var detectedDuringAnswer = false
    /// The second voice's onset → the VAD's decision, ms.
    var latencyMs: Double?
    /// speech_started before the second voice (with it) or at all (without it).
    var falseStarts = 0
    /// Far-end sound the canceller had heard when its start-up gate opened, ms (nil: still closed).
    var gateOpenedAfterMs: Double?
    /// The gate was open when the trial's answer began.
    var openBeforeAnswer = false
    /// Microphone over output energy across the trial's answer (and its reverberation), dB.
    var answerERLE: Double?
}

enum Startup {
    static let rate = Signals.rate
    /// `--ready LEVEL`: the ready sound (ReadySound, peak LEVEL × full scale) before the answers.
    nonisolated(unsafe) static var readyLevel: Double?
    /// Quiet between the ready sound and the first answer, s.
    nonisolated(unsafe) static var readyGapSeconds = 1.0
    static let vadLevelDBFS = -30.0
    static let vadMinFrames = 10

    /// omni-sim's VAD (Sources/SimulatorCore/VoiceActivityDetector.swift) on `out`: the
    /// decision points (sample index where 100 ms of speech frames completed) and their onsets.
    static func speechStarts(_ out: [Int16], from: Int) -> [(onset: Int, at: Int)] {
        let frame = rate / 100
        let threshold = Double(frame) * pow(32768 * pow(10, vadLevelDBFS / 20), 2)
        var starts: [(onset: Int, at: Int)] = []
        var run = 0, speaking = false, silence = 0
        var i = from
        while i + frame <= out.count {
            var e = 0.0
            for k in i..<(i + frame) { e += Double(out[k]) * Double(out[k]) }
            let speech = e >= threshold
            if !speaking {
                run = speech ? run + 1 : 0
                if run >= vadMinFrames {
                    starts.append((i + frame - run * frame, i + frame))
                    speaking = true
                    silence = 0
                    run = 0
                }
            } else {
                silence = speech ? 0 : silence + 1
                if silence >= 50 { speaking = false }  // the bench's vad_silence_ms = 500
            }
            i += frame
        }
        return starts
    }

    /// One trial through `pipeline` (fresh or not), with or without the second voice.
    static func trial(room: RoomSpec, settings: EchoPipeline.Settings, question: [Int16], voice: [Int16],
                      previous: Int, seed: UInt64, withVoice: Bool, restart: Int? = nil, trace: Bool = false) throws -> StartupOutcome {
        let answer = [Int16](repeating: 0, count: 3 * rate / 10) + question
        var noise = SeededNoise(seed: seed)
        let offset = 0.28 + noise.uniform()
        let gainDB = -3 + 6 * noise.uniform()
        var cs = SpeexEchoCanceller.Settings()
        if let v = getenv("AEC_FILTER_MS").flatMap({ Int(String(cString: $0)) }) { cs.filterMs = v }
        let canceller = try SpeexEchoCanceller(settings: cs)
        let pipeline = EchoPipeline(canceller: canceller, settings: settings)
        let n = pipeline.frameSize
        let gap = [Int16](repeating: 0, count: 3 * rate / 2)
        var far: [Int16] = gap
        let lead = answer.firstIndex { abs($0) > 200 } ?? 0, tail = answer.lastIndex { abs($0) > 200 } ?? 0
        var sounds: [Range<Int>] = []
        if let level = readyLevel {
            // The ready sound first (omnid plays it when a new canceller starts in vad mode).
            let ready = ReadySound.render(sampleRate: rate, level: level, durationMs: getenv("AEC_READY_MS").flatMap { Double(String(cString: $0)) } ?? ReadySound.durationMs)
            sounds.append(far.count..<(far.count + ready.count))
            far += ready + [Int16](repeating: 0, count: Int(readyGapSeconds * Double(rate)))
        }
        for _ in 0..<previous {
            sounds.append((far.count + lead)..<(far.count + tail))
            far += answer + gap
        }
        sounds.append((far.count + lead)..<(far.count + tail))
        let answerStart = far.count
        far += answer + gap
        let soundStart = answerStart + (answer.firstIndex { abs($0) > 200 } ?? 0)
        let soundEnd = answerStart + (answer.lastIndex { abs($0) > 200 } ?? 0)
        let onset = soundStart + Int(offset * Double(rate))
        let total = far.count / n * n
        var near = [Int16](repeating: 0, count: total)
        if withVoice {
            let g = BargeInLevel.gain(answer: question, voice: voice) * pow(10, gainDB / 20)
            for (k, v) in voice.enumerated() where onset + k < total { near[onset + k] = PCM.clampToInt16(Double(v) * g) }
        }
        let room = RoomSimulator(spec: room, sampleRate: rate)
        var mic = [Int16](repeating: 0, count: n)
        var out = [Int16](repeating: 0, count: total)
        var result = StartupOutcome()
        result.intoAnswer = offset
        var m = 0
        var micEnergy = 0.0
        // The streams restart (an xrun, a reopen) 0.5 s before the trial's answer; with a shift,
        // the new streams' delay differs from the old one by that many samples.
        let restartAt = restart.map { _ in (answerStart - rate / 2) / n * n }
        while m < total {
            if m == restartAt, let shift = restart {
                pipeline.restartStreams()
                if shift > 0 { [Int16](repeating: 0, count: shift).withUnsafeBufferPointer { pipeline.pushReference($0) } }
            }
            far.withUnsafeBufferPointer { f in
                let block = UnsafeBufferPointer(rebasing: f[m..<(m + n)])
                room.play(block)
                pipeline.pushReference(block)
            }
            for k in 0..<n { mic[k] = near[m + k] }
            mic.withUnsafeMutableBufferPointer { room.capture(into: $0) }
            if m <= soundStart, m + n > soundStart { result.openBeforeAnswer = pipeline.startup.openedAtMs != nil }
            if m >= soundStart, m < soundEnd + rate / 5 {
                for k in 0..<n { micEnergy += Double(mic[k]) * Double(mic[k]) }
            }
            mic.withUnsafeBufferPointer { mp in
                out.withUnsafeMutableBufferPointer { op in pipeline.process(microphone: mp.baseAddress!, output: op.baseAddress! + m) }
            }
            if result.gateOpenedAfterMs == nil, pipeline.startup.openedAtMs != nil {
                // The answers' sound from the first one's start up to here (the echo path's delay
                // and the reverberation aside).
                let played = sounds.reduce(0) { $0 + max(0, min($1.upperBound, m + n) - $1.lowerBound) }
                result.gateOpenedAfterMs = Double(played) * 1000 / Double(rate)
            }
            if trace, m % (5 * n) == 0, m >= (getenv("AEC_TRACE_ALL") != nil ? 0 : answerStart - rate / 2), m < soundEnd + rate / 2 {
                let st = pipeline.startup
                var e = 0.0, o = 0.0
                for k in max(0, m - 5 * n)..<(m + n) { e += Double(out[k]) * Double(out[k]) }
                for k in max(0, m - 5 * n)..<(m + n) { o += Double(near[k]) * Double(near[k]) }
                func r1(_ d: Double) -> String { "\((d * 10).rounded() / 10)" }
                func db(_ x: Double) -> String { r1(10 * log10(max(x, 1) / Double(6 * n)) - 90.3) }
                let t = r1(Double(m - answerStart) / Double(rate))
                let red = st.reductionDB.map(r1) ?? "-"
                let att = r1(st.attenuationDB)
                print("    t=\(t) \(st.phase) reduction \(red) att \(att) out \(db(e)) dBFS near \(db(o)) learned \(st.learnedMs) \(pipeline.status)")
            }
            m += n
        }
        let a = soundStart / n * n, b = min(total, (soundEnd + rate / 5) / n * n)
        var outEnergy = 0.0
        for k in a..<b { outEnergy += Double(out[k]) * Double(out[k]) }
        if !withVoice { result.answerERLE = 10 * log10(max(micEnergy, 1) / max(outEnergy, 1)) }
        // Only the trial's answer and after (earlier answers had nobody speaking: counted too).
        let starts = speechStarts(out, from: 0)
        for s in starts {
            if withVoice, s.onset >= onset - rate / 20 {
                if !result.detected {
                    result.detected = true
                    result.latencyMs = Double(s.at - onset) * 1000 / Double(rate)
                    result.detectedDuringAnswer = s.at < soundEnd
                }
            } else {
                result.falseStarts += 1
            }
        }
        return result
    }
}

enum BargeInLevel {
    static func rms(_ s: [Int16]) -> Double { (s.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, s.count))).squareRoot() }
    /// As BargeInTrials: the second voice scaled to the question's (= the answer's) RMS.
    static func gain(answer: [Int16], voice: [Int16]) -> Double { rms(answer) / rms(voice) }
}
