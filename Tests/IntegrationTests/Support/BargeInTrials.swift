import Foundation
import OmniCore
import XCTest

// Voice barge-in trials (issue #12): a real omnid in `vad` mode with barge_in = "voice" against a
// real omni-sim (echo answers streamed at real-time pace, so the answer is still being produced
// while it plays). Each trial is a stretch of one microphone file on the `file:` backend:
//
//   0.3 s | question (fixture) | silence | second voice (fixture, at the answer's level ± 3 dB) | 6 s
//
// The second voice starts a seeded 0.4–1.4 s into where the answer is expected to play. The
// question is answered with its own echo, so the answer's level is the question's, and the
// second voice is mixed at that level.
//
// A block of trials is one microphone file, started by a reload that points [audio] capture and
// playback at the block's files: the devices reopen together, so the microphone file and the
// speaker file share one timeline (the audio thread's clock). Outcomes come from what the two
// sides recorded (BargeInAnalysis.swift): omni-sim's event log, omnid's speaker file and its
// status counters.
//
// A room: `audio` lines (e.g. `room = "…"`, `echo_cancel = "on"`) go into [audio], so the same
// trials run with the answer's echo in the microphone; false starts (the echo taken for speech)
// are counted for that. A reload that changes the capture device is a new echo path, so the
// first trial of each block meets a canceller that has learnt nothing (the start after boot);
// the block's later trials meet one that has heard the earlier answers (an appliance that has
// been running). `position` in each outcome says which.
//
// Warm-up (optional): each block's microphone first carries a long warm-up question (question,
// second voice, question: ~6.5 s) whose echo answer plays to its end before the first trial.
//
// The ready sound: with echo cancellation running (vad mode: `echo_cancel` "auto" or "on"),
// each new echo path — each block — starts with omnid's ready sound (ReadySound, played as the
// reload reopens the devices), which the new canceller learns the room from. A user waits for
// the box to say it is ready; so does each block's microphone: it starts with
// `readyLeadSeconds` of silence (the sound and its reverberation) unless the sound is off.
// speech_started during that lead is the ready sound's echo taken for speech
// (`readyFalseStarts`).

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
    /// Each block's microphone starts with a warm-up question whose answer plays to its end.
    let warmUp: Bool
    /// The quiet each block starts with while the ready sound plays, s (0: no ready sound).
    let readyLead: Double
    static var readyLeadSeconds: Double { EchoRig.readyLeadSeconds }
    private var reloads = 0

    init(_ name: String, bargeIn: String = "voice", audioExtra: [String] = [], warmUp: Bool = false) throws {
        rig = try OmnidRig(name)
        simLog = "\(rig.dir)/sim.jsonl"
        sim = try SimProcess(arguments: ["--answer", "echo", "--speed", "1", "--log", simLog, "--log-audio", "false"])
        let fixtures = Binaries.repoRoot.appendingPathComponent("Tests/Fixtures/audio")
        question = try WAV.decode(Array(Data(contentsOf: fixtures.appendingPathComponent("question.wav")))).samples
        self.bargeIn = try WAV.decode(Array(Data(contentsOf: fixtures.appendingPathComponent("barge-in.wav")))).samples
        self.audioExtra = audioExtra
        self.warmUp = warmUp
        readyLead = Self.readySoundPlays(audioExtra) ? Self.readyLeadSeconds : 0
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

    /// Whether omnid (vad mode) plays the ready sound with these `[audio]` lines: unless they
    /// turn it or echo cancellation off (ReadySoundCue).
    static func readySoundPlays(_ audioExtra: [String]) -> Bool {
        func value(_ key: String) -> String? {
            audioExtra.last { $0.split(separator: "=").first?.trimmingCharacters(in: .whitespaces) == key }
                .map { $0.split(separator: "=", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) }
        }
        return value("ready_sound") != "\"off\"" && value("echo_cancel") != "\"off\"" && value("echo_cancel") != "false"
    }

    static func rms(_ s: [Int16]) -> Double {
        (s.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, s.count))).squareRoot()
    }

    /// The warm-up block (nothing without a warm-up): 0.3 s, the question, the second voice (at
    /// the question's level) and the question again, 200 ms apart (one turn, ~6.5 s), silence
    /// while its echo answer (plus the VAD's 300 ms of prefix padding) plays, and 1.5 s more.
    var warmUpBlock: [Int16] {
        guard warmUp else { return [] }
        let gap = [Int16](repeating: 0, count: Self.rate / 5)
        let gain = Self.rms(question) / Self.rms(bargeIn)
        let q = question + gap + bargeIn.map { PCM.clampToInt16(Double($0) * gain) } + gap + question
        let answer = Double(q.count) / Double(Self.rate) + 0.3
        let total = 0.3 + Double(q.count) / Double(Self.rate) + Self.expectedAnswerDelay + answer + 1.5
        let lead = [Int16](repeating: 0, count: Int(0.3 * Double(Self.rate)))
        return lead + q + [Int16](repeating: 0, count: Int(total * Double(Self.rate)) - lead.count - q.count)
    }

    /// One trial's stretch of microphone and the second voice's onset in it, s.
    func segment(seed: UInt64) -> (samples: [Int16], onset: Double) {
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
        return (mic, onset)
    }

    /// One trial on its own (a block of one).
    func run(trial: Int, seed: UInt64) throws -> BargeInOutcome {
        try runBlock(first: trial, seeds: [seed])[0]
    }

    /// Runs a block of trials (one per seed) from one microphone file to its end (omnid back at
    /// rest after the last second answer, or the hang guard).
    func runBlock(first: Int, seeds: [UInt64]) throws -> [BargeInOutcome] {
        let lead = [Int16](repeating: 0, count: Int(readyLead * Double(Self.rate)))
        var mic = lead + warmUpBlock
        var starts: [Double] = [], onsets: [Double] = []
        for seed in seeds {
            let s = segment(seed: seed)
            starts.append(Double(mic.count) / Double(Self.rate))
            onsets.append(starts.last! + s.onset)
            mic += s.samples
        }
        let name = "\(first)"
        let logStart = SimEvents.size(simLog)
        guard let before = rig.status()?.counters else { throw MissingPrerequisite("no status from omnid") }
        try play(mic, as: name)
        // The block is over once omnid has sent the whole file (omni-sim's count) and has ended
        // every turn it began. The echo status is noted as each second voice begins.
        var echoAtOnset: [String?] = onsets.map { _ in nil }
        let counter = SentAudioCounter(simLog, from: logStart)
        let settled = eventually(timeout: TestGuard.seconds + Double(mic.count) / Double(Self.rate) * 3, pollMicros: 50_000) {
            let sent = counter.update()
            guard let s = self.rig.status() else { return false }
            for (k, onset) in onsets.enumerated() where echoAtOnset[k] == nil && Double(sent) >= onset * Double(Self.rate) {
                echoAtOnset[k] = s.echo.map { e in
                    "echo at the onset: \(e.path.rawValue)" + (e.startup.map { ", start-up gate \($0.phase), \($0.learnedMs) ms learnt, "
                        + "attenuating \(String(format: "%.1f", $0.attenuationDB)) dB" } ?? "")
                }
            }
            let ended = (s.counters.answered + s.counters.cancelled + s.counters.failed)
                - (before.answered + before.cancelled + before.failed)
            return sent >= mic.count && s.state == .ready && ended >= s.counters.turns - before.turns
        }
        let after = rig.status()?.counters ?? before
        // The lead's events apart (the ready sound); the rest is timed from the first question.
        let events = SimEvents(simLog, fromByte: logStart).lines[...]
        let (readyEvents, afterLead) = splitAtSentAudio(events, samples: lead.count)
        let blocks = splitByTime(afterLead, starts: starts.map { $0 - readyLead })
        var outcomes: [BargeInOutcome] = []
        for (k, seed) in seeds.enumerated() {
            _ = seed
            var out = BargeInOutcome(trial: first + k)
            out.position = k
            if k == 0, warmUp { out.warmUpFalseStarts = warmUpFalseStarts(blocks.warmUp, into: &out) }
            if k == 0 { out.readyFalseStarts = readyEvents.filter { $0.server("input_audio_buffer.speech_started") }.count }
            if let e = echoAtOnset[k], !audioExtra.isEmpty { out.notes.append(e) }
            if !settled { out.notes.append("omnid did not settle: \(rig.status().map { "\($0.state)" } ?? "?")") }
            analyseServer(blocks.trials[k], into: &out)
            let end = k + 1 < starts.count ? starts[k + 1] : Double.infinity
            analyseSpeaker("\(rig.dir)/speaker-\(name).wav", onset: onsets[k], within: starts[k]..<end, into: &out)
            outcomes.append(out)
        }
        // Every trial's second question answered: omnid's own count agrees.
        if after.answered - before.answered < outcomes.filter(\.answered).count {
            for k in outcomes.indices { outcomes[k].notes.append("omnid answered \(after.answered - before.answered) in the block") }
        }
        return outcomes
    }

    /// `play` after the quiet a user leaves while the new echo path's ready sound plays (none
    /// when it does not play): a question over the sound is held back by the start-up gate.
    func playAfterTheReadySound(_ samples: [Int16], as name: String) throws {
        try play([Int16](repeating: 0, count: Int(readyLead * Double(Self.rate))) + samples, as: name)
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
}
