import Foundation
import OmniCore
import XCTest

// Voice barge-in trials (issue #12): a real omnid in `vad` mode with barge_in = "voice" against a
// real omni-sim (echo answers streamed at real-time pace, so the answer is still being produced
// while it plays). Each trial is one microphone file on the `file:` backend:
//
//   0.3 s | question (fixture) | silence | second voice (fixture, at the answer's level ± 3 dB) | silence
//
// The second voice starts a seeded 0.4–1.4 s into where the answer is expected to play. The
// question is answered with its own echo, so the answer's level is the question's, and the
// second voice is mixed at that level. Each trial is started by a reload that points [audio]
// capture and playback at the trial's files: the devices reopen together, so the microphone
// file and the speaker file share one timeline (the audio thread's clock).
//
// Outcomes come from what the two sides recorded: omni-sim's event log (speech_started, the
// response's end, response.cancel, the next response), omnid's speaker file (where the answer
// stopped) and its status counters (the new question answered).
//
// A room: `audio` lines (e.g. `room = "…"`, `echo_cancel = "on"`) go into [audio], so the same
// trials run with the answer's echo in the microphone; false starts (the echo taken for speech)
// are counted for that.
//
// Warm-up (on whenever `audio` lines are given): a reload that changes [audio] builds a new
// engine and a new echo path, so the canceller starts from nothing in every trial, and its
// start-up gate (EchoStartupGate: half duplex until it reaches 25 dB, at most 6 s of far-end
// sound) would mute the microphone through the whole short answer. An appliance runs for hours
// and its canceller has converged long before anyone talks over an answer. So each trial's
// microphone first carries a long warm-up question (question, second voice, question: ~6.5 s)
// whose echo answer plays to its end (≥ 6 s of far-end sound: the gate has opened), then the
// trial proper. Only what follows the warm-up's answer is analysed.

struct BargeInOutcome: CustomStringConvertible {
    var trial: Int
    /// The second voice starts this long after the answer started playing (speaker file).
    var bargeIntoAnswerMs: Double?
    /// omni-sim's VAD reported speech_started for the second voice.
    var detected = false
    /// speech_started events during the answer before the second voice began (echo taken for speech).
    var falseStarts = 0
    /// The answer's response had not ended when the second voice was detected.
    var responseActive = false
    /// omnid sent response.cancel after that speech_started.
    var cancelSent = false
    /// The answer stopped playing after the second voice began and well before its end.
    var playbackStopped = false
    /// From the second voice's onset to the answer's last sound (speaker file), ms.
    var stopAfterOnsetMs: Double?
    /// The second question got its own response, which omnid played to the end.
    var answered = false
    /// With a warm-up: speech_started events during the warm-up's answer (echo taken for speech).
    var warmUpFalseStarts = 0
    var notes: [String] = []

    var description: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "-" }
        return "trial \(trial): barge \(f(bargeIntoAnswerMs)) ms into the answer; detected \(detected), "
            + "false starts \(falseStarts), response active \(responseActive), cancel sent \(cancelSent), "
            + "stopped \(playbackStopped) (\(f(stopAfterOnsetMs)) ms after onset), answered \(answered)"
            + (warmUpFalseStarts == 0 ? "" : ", warm-up false starts \(warmUpFalseStarts)")
            + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; "))
    }
}

final class BargeInTrials {
    static let rate = 16_000
    static let vadSilenceMs = 500
    /// From the end of the question to the answer's first sample: the VAD's silence, then
    /// response.created, the first delta (omni-sim: 20 + 200 ms) and omnid's 60 ms pre-roll,
    /// plus up to a chunk (100 ms) of uplink granularity.
    static let expectedAnswerDelay = 0.9

    let rig: OmnidRig
    let sim: SimProcess
    let simLog: String
    let question: [Int16]
    let bargeIn: [Int16]
    let audioExtra: [String]
    /// `[session] barge_in` for omnid.
    let setting: String
    /// Each trial's microphone starts with a warm-up question whose answer plays to its end.
    let warmUp: Bool
    private var reloads = 0

    init(_ name: String, bargeIn: String = "voice", audioExtra: [String] = [], warmUp: Bool? = nil) throws {
        rig = try OmnidRig(name)
        simLog = "\(rig.dir)/sim.jsonl"
        sim = try SimProcess(arguments: ["--answer", "echo", "--speed", "1", "--log", simLog, "--log-audio", "false"])
        let fixtures = Binaries.repoRoot.appendingPathComponent("Tests/Fixtures/audio")
        question = try WAV.decode(Array(Data(contentsOf: fixtures.appendingPathComponent("question.wav")))).samples
        self.bargeIn = try WAV.decode(Array(Data(contentsOf: fixtures.appendingPathComponent("barge-in.wav")))).samples
        self.audioExtra = audioExtra
        self.warmUp = warmUp ?? !audioExtra.isEmpty
        setting = bargeIn
        try OmnidRig.writeWAV("\(rig.dir)/quiet.wav", samples: [Int16](repeating: 0, count: Self.rate))
        try writeConfig(capture: "quiet.wav", playback: "speaker-idle.wav")
        try rig.start()
        guard rig.waitFor({ $0.stderr.contains("LED state: ready") }) else {
            throw MissingPrerequisite("omnid did not get ready:\n\(rig.stderr)")
        }
    }

    deinit { sim.child.terminateAndWait() }

    func writeConfig(capture: String, playback: String) throws {
        try """
            [service]
            url = "\(sim.url)"
            [session]
            mode = "vad"
            barge_in = "\(setting)"
            vad_silence_ms = \(Self.vadSilenceMs)
            [board]
            name = "virtual"
            [audio]
            capture = "file:\(rig.dir)/\(capture)"
            playback = "file:\(rig.dir)/\(playback)"
            earcons = false
            \(audioExtra.joined(separator: "\n"))
            [control]
            socket = "\(rig.socketPath)"
            """.write(toFile: rig.configPath, atomically: true, encoding: .utf8)
    }

    static func rms(_ s: [Int16]) -> Double {
        (s.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, s.count))).squareRoot()
    }

    /// The warm-up question: the question, the second voice (at the question's level) and the
    /// question again, 200 ms apart (under the VAD's 500 ms of silence: one turn), ~6.5 s.
    var warmUpQuestion: [Int16] {
        let gap = [Int16](repeating: 0, count: Self.rate / 5)
        let gain = Self.rms(question) / Self.rms(bargeIn)
        return question + gap + bargeIn.map { PCM.clampToInt16(Double($0) * gain) } + gap + question
    }

    /// The warm-up block at the microphone's start (nothing without a warm-up): 0.3 s, the
    /// warm-up question, then silence while its echo answer (plus the VAD's 300 ms of prefix
    /// padding) plays, and 1.5 s more so that the answer's tail and the room's reverberation
    /// have died away before the trial's question.
    var warmUpBlock: [Int16] {
        guard warmUp else { return [] }
        let q = warmUpQuestion
        let answer = Double(q.count) / Double(Self.rate) + 0.3
        let total = 0.3 + Double(q.count) / Double(Self.rate) + Self.expectedAnswerDelay + answer + 1.5
        let lead = [Int16](repeating: 0, count: Int(0.3 * Double(Self.rate)))
        return lead + q + [Int16](repeating: 0, count: Int(total * Double(Self.rate)) - lead.count - q.count)
    }

    /// The trial's microphone, the second voice's onset in it and where the trial proper starts
    /// (after the warm-up; 0 without one), in seconds.
    func microphone(seed: UInt64) -> (samples: [Int16], onset: Double, start: Double) {
        var noise = SeededNoise(seed: seed)
        let offset = 0.4 + 1.0 * noise.uniform()        // into the expected answer
        let levelDB = -3 + 6 * noise.uniform()           // around the answer's (= the question's) level
        let gain = Self.rms(question) / Self.rms(bargeIn) * pow(10, levelDB / 20)
        let lead = Int(0.3 * Double(Self.rate))
        let onset = 0.3 + Double(question.count) / Double(Self.rate) + Self.expectedAnswerDelay + offset
        var mic = [Int16](repeating: 0, count: lead) + question
        mic += [Int16](repeating: 0, count: Int(onset * Double(Self.rate)) - mic.count)
        mic += bargeIn.map { PCM.clampToInt16(Double($0) * gain) }
        mic += [Int16](repeating: 0, count: 6 * Self.rate)  // the second answer plays meanwhile
        let warm = warmUpBlock
        let start = Double(warm.count) / Double(Self.rate)
        return (warm + mic, start + onset, start)
    }

    /// Runs one trial to its end (omnid back at rest after the second answer, or the hang guard).
    func run(trial: Int, seed: UInt64) throws -> BargeInOutcome {
        var out = BargeInOutcome(trial: trial)
        let (mic, onset, start) = microphone(seed: seed)
        let turns = warmUp ? 3 : 2
        let logStart = SimEvents(simLog).lines.count
        guard let before = rig.status()?.counters else { throw MissingPrerequisite("no status from omnid") }
        try play(mic, as: "\(trial)")
        let clock = SystemMonotonicClock()
        let t0 = clock.now()
        var echoAtOnset: String?
        // Over when all turns have ended (cancelled/answered/failed) and omnid is at rest.
        let settled = eventually(timeout: TestGuard.seconds + start) {
            guard let s = self.rig.status() else { return false }
            if echoAtOnset == nil, let e = s.echo, clock.now() >= t0 + .milliseconds(Int64(onset * 1000)) {
                echoAtOnset = "echo at the onset: \(e.path.rawValue), mic muted now \(e.halfDuplexActive), "
                    + "muted so far \(e.mutedMs) ms, erle \(e.erleDB.map { String(format: "%.1f", $0) } ?? "-") dB"
            }
            let ended = (s.counters.answered + s.counters.cancelled + s.counters.failed)
                - (before.answered + before.cancelled + before.failed)
            return s.state == .ready && s.counters.turns - before.turns >= turns && ended >= s.counters.turns - before.turns
        }
        if let e = echoAtOnset, !audioExtra.isEmpty { out.notes.append(e) }
        if !settled { out.notes.append("omnid did not settle: \(rig.status().map { "\($0.state)" } ?? "?")") }
        let after = rig.status()?.counters ?? before
        var events = SimEvents(simLog).lines.dropFirst(logStart)
        if warmUp { events = skipWarmUp(events, into: &out) }
        analyseServer(events, into: &out)
        analyseSpeaker("\(rig.dir)/speaker-\(trial).wav", onset: onset, after: start, into: &out)
        out.answered = out.answered && after.answered - before.answered >= 1
        return out
    }

    /// Points the microphone at `samples` (and the speaker at speaker-`name`.wav) by a reload:
    /// the file plays from its start into a session that is already streaming.
    func play(_ samples: [Int16], as name: String) throws {
        try OmnidRig.writeWAV("\(rig.dir)/mic-\(name).wav", samples: samples)
        try writeConfig(capture: "mic-\(name).wav", playback: "speaker-\(name).wav")
        reloads += 1
        rig.reload()
        let reopened = rig.waitFor { $0.lines(containing: "audio settings changed: reopening the devices").count >= self.reloads }
        guard reopened else { throw MissingPrerequisite("omnid did not reopen its devices:\n\(rig.stderr)") }
    }

    /// The events after the warm-up's answer ended (its response.done); speech_started events
    /// while it played are the echo taken for speech.
    func skipWarmUp(_ lines: ArraySlice<SimEvents.Line>, into out: inout BargeInOutcome) -> ArraySlice<SimEvents.Line> {
        guard let stop = lines.firstIndex(where: { $0.server("input_audio_buffer.speech_stopped") }),
              let created = lines[stop...].firstIndex(where: { $0.server("response.created") }),
              let done = lines[created...].firstIndex(where: { $0.server("response.done") && $0.responseID == lines[created].responseID })
        else {
            out.notes.append("the warm-up question was not answered")
            return lines[lines.endIndex...]
        }
        out.warmUpFalseStarts = lines[created..<done].filter { $0.server("input_audio_buffer.speech_started") }.count
        return lines[(done + 1)...]
    }

    /// speech_started of the second voice, the answer's end, the cancel, the next response.
    func analyseServer(_ lines: ArraySlice<SimEvents.Line>, into out: inout BargeInOutcome) {
        let all = Array(lines)
        guard let firstStop = all.firstIndex(where: { $0.server("input_audio_buffer.speech_stopped") }),
              let created = all[firstStop...].firstIndex(where: { $0.server("response.created") })
        else {
            out.notes.append("the question was not answered")
            return
        }
        let answerID = all[created].responseID
        let firstDelta = all[created...].firstIndex { $0.server("response.audio.delta") }
        // speech_started after the answer began arriving: the first that is the second voice.
        let starts = all.indices.filter { $0 > created && all[$0].server("input_audio_buffer.speech_started") }
        guard let barge = starts.first else { return }
        out.detected = true
        out.falseStarts = starts.count - 1
        out.responseActive = !all[created..<barge].contains { $0.server("response.done") && $0.responseID == answerID }
            && firstDelta.map { $0 < barge } == true
        let nextStop = all[barge...].firstIndex { $0.server("input_audio_buffer.speech_stopped") } ?? all.endIndex
        out.cancelSent = all[barge..<nextStop].contains { $0.dir == "client" && $0.type == "response.cancel" }
        out.answered = all[nextStop...].contains { $0.server("response.created") && $0.responseID != answerID }
    }

    /// Where the answer's sound starts and stops in the speaker file, against the onset.
    func analyseSpeaker(_ path: String, onset: Double, after start: Double = 0, into out: inout BargeInOutcome) {
        guard let data = FileManager.default.contents(atPath: path), data.count > 44 else {
            out.notes.append("no speaker file")
            return
        }
        // The data size in the header is patched only now and then: read every sample written.
        let samples = data.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let rate = Double(data.dropFirst(24).prefix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        let runs = Self.soundRuns(samples, rate: rate).filter { $0.start >= start }  // not the warm-up's answer
        guard let answer = runs.first else {
            out.notes.append("the answer never played")
            return
        }
        out.bargeIntoAnswerMs = (onset - answer.start) * 1000
        out.stopAfterOnsetMs = (answer.end - onset) * 1000
        // Stopped: after the onset, and short of the whole answer (the question plus the VAD's
        // 300 ms of prefix padding, echoed).
        let whole = Double(question.count) / Double(Self.rate) + 0.3
        out.playbackStopped = answer.end > onset && answer.end - answer.start < whole - 0.2
        if runs.count < 2 { out.answered = false }
    }

    /// Stretches of sound (|sample| > 200) separated by at least 600 ms of quiet, in seconds: one
    /// per answer (the phrases' own pauses are shorter than the VAD's 500 ms of silence).
    static func soundRuns(_ s: [Int16], rate: Double) -> [(start: Double, end: Double)] {
        var runs: [(start: Double, end: Double)] = []
        var start: Int?
        var last = 0
        let gap = Int(0.6 * rate)
        for (i, v) in s.enumerated() where abs(Int(v)) > 200 {
            if let st = start, i - last > gap {
                runs.append((Double(st) / rate, Double(last + 1) / rate))
                start = i
            } else if start == nil {
                start = i
            }
            last = i
        }
        if let st = start { runs.append((Double(st) / rate, Double(last + 1) / rate)) }
        return runs
    }
}

/// omni-sim's `--log` lines with their time and the response id they carry.
struct SimEvents {
    struct Line {
        var tMs: Double
        var dir: String
        var type: String
        var responseID: String?

        func server(_ t: String) -> Bool { dir == "server" && type == t }
    }

    let lines: [Line]

    init(_ path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        lines = text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let dir = o["dir"] as? String, let e = o["event"] as? [String: Any],
                  let type = e["type"] as? String else { return nil }
            let id = (e["response"] as? [String: Any])?["id"] as? String ?? e["response_id"] as? String
            return Line(tMs: (o["t_ms"] as? Double) ?? 0, dir: dir, type: type, responseID: id)
        }
    }
}
