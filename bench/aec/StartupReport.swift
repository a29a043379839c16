// `omni-bench-aec --startup N`: the table for Startup.swift's trials — per room and per number
// of answers the canceller had heard before, the second voice's detection, the echo taken for
// speech, and how much speaker sound the start-up gate needed to open.
#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniLinux

enum StartupReport {
    /// bench/bargein's room (issue 12's example).
    static let bargeInRoom = room("delay_ms=60,gain_db=-6,rt60_ms=300,noise_db=-60,seed=7")

    static func fixture(_ name: String) -> [Int16] {
        guard let bytes = Signals.readFile("Tests/Fixtures/audio/\(name)"), let wav = try? WAV.decode(bytes) else {
            print("cannot read Tests/Fixtures/audio/\(name) (run from the repository's root)")
            exit(1)
        }
        return wav.samples
    }

    /// The pipeline's settings, with the gate's knobs from the environment (experiments).
    static var settings: EchoPipeline.Settings {
        var s = EchoPipeline.Settings()
        func env(_ name: String) -> Double? { getenv(name).flatMap { Double(String(cString: $0)) } }
        if let v = env("AEC_GATE_TARGET") { s.gate.targetDB = v }
        if let v = env("AEC_GATE_ATTENUATE") { s.gate.attenuateToDB = v }
        if let v = env("AEC_GATE_SUSTAIN") { s.gate.sustainSeconds = v }
        if let v = env("AEC_GATE_WINDOW") { s.gate.windowSeconds = v }
        if env("AEC_GATE_OFF") == 1 { s.startupGate = false }
        if let v = env("AEC_GATE_FLOOR") { s.gate.echoAboveFloorDB = v }
        if env("AEC_NO_HOLD") == 1 { s.holdFilterUntilConfirmed = false }
        return s
    }

    static func percentile(_ xs: [Double], _ p: Double) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))]
    }

    static func run(trials: Int, rooms: [RoomSpec], previous: [Int]) {
        let question = fixture("question.wav"), voice = fixture("barge-in.wav")
        let s = settings
        let restart = getenv("AEC_RESTART_SHIFT").flatMap { Int(String(cString: $0)) }
        print("Voice barge-in from the first answers (offline: bench/bargein's fixtures, omni-sim's VAD rule on the output)")
        print("gate: \(s.startupGate ? "open at \(s.gate.targetDB) dB sustained \(s.gate.sustainSeconds) s, window \(s.gate.windowSeconds) s, attenuating to \(s.gate.attenuateToDB) dB until then, at most \(s.gate.maximumSeconds) s, echo \(s.gate.echoAboveFloorDB) dB above the floor" : "off"); \(trials) trials per row\(restart.map { "; the streams restart before the trial's answer, delay changed by \($0) samples" } ?? "")")
        if let l = Startup.readyLevel {
            print("the ready sound first (ReadySound, \(getenv("AEC_READY_MS").map { String(cString: $0) } ?? "\(Int(ReadySound.durationMs))") ms, peak \(l) × full scale), then \(Startup.readyGapSeconds) s of quiet")
        }
        print("")
        func f0(_ d: Double?) -> String { d.map { "\(Int($0.rounded()))" } ?? "-" }
        func f1(_ d: Double?) -> String { d.map { "\(($0 * 10).rounded() / 10)" } ?? "-" }
        for r in rooms {
            print("room delay \(r.delayMs) ms, gain \(r.gainDB) dB, RT60 \(r.rt60Ms) ms, noise \(r.noiseDB) dB, drift \(r.driftPPM) ppm, seed \(r.seed)")
            print("  answers before  detected during the answer  onset→VAD ms p50/max  false starts (voice / none)  gate open after ms of speaker sound p50/min/max (never)")
            for p in previous {
                var detected = 0, falseWith = 0, falseWithout = 0, never = 0
                var latencies: [Double] = [], opened: [Double] = [], erles: [Double] = []
                var openBefore = 0
                for t in 0..<trials {
                    do {
                        let a = try Startup.trial(room: r, settings: s, question: question, voice: voice, previous: p, seed: UInt64(t + 1), withVoice: true, restart: restart)
                        let b = try Startup.trial(room: r, settings: s, question: question, voice: voice, previous: p, seed: UInt64(t + 1), withVoice: false, restart: restart)
                        if a.detectedDuringAnswer { detected += 1 }
                        if getenv("AEC_TRACE") != nil, !a.detectedDuringAnswer || a.falseStarts + b.falseStarts > 0 || getenv("AEC_TRACE_ALL") != nil {
                            print("  trial \(t + 1): \(a) / without the voice: \(b)")
                            if getenv("AEC_TRACE_FRAMES") != nil {
                                _ = try Startup.trial(room: r, settings: s, question: question, voice: voice, previous: p, seed: UInt64(t + 1), withVoice: true, restart: restart, trace: true)
                            }
                        }
                        if let l = a.latencyMs { latencies.append(l) }
                        falseWith += a.falseStarts
                        falseWithout += b.falseStarts
                        if let o = b.gateOpenedAfterMs { opened.append(o) } else { never += 1 }
                        if b.openBeforeAnswer { openBefore += 1 }
                        if let e = b.answerERLE { erles.append(e) }
                    } catch {
                        print("trial \(t): \(error)")
                        exit(1)
                    }
                }
                print("  \(p)".padding(16) + "\(detected)/\(trials)".padding(26) + "\(f0(percentile(latencies, 0.5)))/\(f0(latencies.max()))".padding(24)
                      + "\(falseWith) / \(falseWithout)".padding(29)
                      + "\(f0(percentile(opened, 0.5)))/\(f0(opened.min()))/\(f0(opened.max())) (\(never))".padding(30)
                      + "open before it \(openBefore)/\(trials), its ERLE dB min/p50 \(f1(erles.min()))/\(f1(percentile(erles, 0.5)))")
                fflush(nil)
            }
        }
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
