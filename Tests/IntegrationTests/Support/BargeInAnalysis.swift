import Foundation
import OmniCore
import XCTest

// What a barge-in trial (BargeInTrials.swift) came to, read from what the two sides recorded:
// omni-sim's event log (speech_started, the response's end, response.cancel, the next response)
// and omnid's speaker file (where the answer stopped).

struct BargeInOutcome: CustomStringConvertible {
    var trial: Int
    /// The trial's place in its block: 0 = the first answer after the echo path started.
    var position = 0
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
    /// The second question got its own response, which omnid played.
    var answered = false
    /// With a warm-up: speech_started events during the warm-up's answer (echo taken for speech).
    var warmUpFalseStarts = 0
    /// The block's first trial: speech_started events while the ready sound played (its echo
    /// taken for speech), before the question.
    var readyFalseStarts = 0
    var notes: [String] = []

    var description: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "-" }
        return "trial \(trial) (answer \(position + 1) of its echo path): barge \(f(bargeIntoAnswerMs)) ms into the answer; "
            + "detected \(detected), false starts \(falseStarts), response active \(responseActive), cancel sent \(cancelSent), "
            + "stopped \(playbackStopped) (\(f(stopAfterOnsetMs)) ms after onset), answered \(answered)"
            + (warmUpFalseStarts == 0 ? "" : ", warm-up false starts \(warmUpFalseStarts)")
            + (readyFalseStarts == 0 ? "" : ", false starts during the ready sound \(readyFalseStarts)")
            + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; "))
    }
}

extension BargeInTrials {
    /// The block's events by trial: each trial's from shortly before its question was heard
    /// (the microphone plays in real time, so the sim's clock follows the file: the first
    /// question heard anchors it), and what came before the first trial (the warm-up).
    func splitByTime(_ lines: ArraySlice<SimEvents.Line>, starts: [Double])
        -> (warmUp: ArraySlice<SimEvents.Line>, trials: [ArraySlice<SimEvents.Line>]) {
        guard let anchor = lines.first(where: { $0.server("input_audio_buffer.speech_started") })?.tMs else {
            return (lines[lines.startIndex..<lines.startIndex], starts.map { _ in lines })
        }
        // Every block and trial starts with 0.3 s and the question: the first speech_started of
        // trial k comes `starts[k]` after the block's first one; cut 1.5 s before it (in the quiet
        // end of the previous trial).
        let cuts = starts.map { s in lines.firstIndex { $0.tMs >= anchor + s * 1000 - 1500 } ?? lines.endIndex }
        let trials = cuts.indices.map { k in lines[cuts[k]..<(k + 1 < cuts.count ? cuts[k + 1] : lines.endIndex)] }
        return (lines[lines.startIndex..<(cuts.first ?? lines.endIndex)], trials)
    }

    /// The events up to where omnid had sent `samples` of the block's microphone (the ready
    /// sound's lead), and the rest. The speech_started an echo in the lead can cause comes
    /// before the first 100 ms of the question after it has been sent.
    func splitAtSentAudio(_ lines: ArraySlice<SimEvents.Line>, samples: Int)
        -> (lead: ArraySlice<SimEvents.Line>, rest: ArraySlice<SimEvents.Line>) {
        var sent = 0
        let cut = lines.firstIndex { line in
            if line.dir == "client" && line.type == "input_audio_buffer.append" { sent += line.audioBytes / 2 }
            return sent >= samples + Self.rate / 10
        } ?? lines.endIndex
        return (lines[..<cut], lines[cut...])
    }

    /// speech_started during the warm-up's answer (its response.created → response.done).
    func warmUpFalseStarts(_ lines: ArraySlice<SimEvents.Line>, into out: inout BargeInOutcome) -> Int {
        guard let created = lines.firstIndex(where: { $0.server("response.created") }),
              let done = lines[created...].firstIndex(where: { $0.server("response.done") && $0.responseID == lines[created].responseID })
        else {
            out.notes.append("the warm-up question was not answered")
            return 0
        }
        return lines[created..<done].filter { $0.server("input_audio_buffer.speech_started") }.count
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

    /// Where the trial's answer starts and stops in the speaker file (the stretch `within`, s),
    /// against the onset.
    func analyseSpeaker(_ path: String, onset: Double, within: Range<Double>, into out: inout BargeInOutcome) {
        guard let data = FileManager.default.contents(atPath: path), data.count > 44 else {
            out.notes.append("no speaker file")
            return
        }
        // The data size in the header is patched only now and then: read every sample written.
        let samples = data.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let rate = Double(data.dropFirst(24).prefix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        let runs = Self.soundRuns(samples, rate: rate).filter { within.contains($0.start) }
        guard let answer = runs.first else {
            out.notes.append("the answer never played")
            return
        }
        out.bargeIntoAnswerMs = (onset - answer.start) * 1000
        out.stopAfterOnsetMs = (answer.end - onset) * 1000
        // Stopped: after the onset, and short of the whole answer (the question's sound, echoed;
        // the VAD's prefix padding before it is silence) by more than a chunk.
        let q = Self.soundRuns(question, rate: Double(Self.rate))
        let whole = (q.last?.end ?? 0) - (q.first?.start ?? 0)
        out.playbackStopped = answer.end > onset && answer.end - answer.start < whole - 0.15
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
        /// input_audio_buffer.append: the audio's size in bytes (the log's count without --log-audio).
        var audioBytes = 0

        func server(_ t: String) -> Bool { dir == "server" && type == t }
    }

    let lines: [Line]

    /// The log's lines from byte `fromByte` on (a line's start).
    init(_ path: String, fromByte: UInt64 = 0) {
        lines = Self.parse(Self.read(path, from: fromByte).text)
    }

    static func read(_ path: String, from offset: UInt64) -> (text: Substring, end: UInt64) {
        guard let h = FileHandle(forReadingAtPath: path) else { return ("", offset) }
        defer { try? h.close() }
        try? h.seek(toOffset: offset)
        let data = (try? h.readToEnd()) ?? Data()
        // Whole lines only: a line being written waits for the next read.
        guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return ("", offset) }
        let whole = data[data.startIndex...lastNewline]
        return (Substring(String(decoding: whole, as: UTF8.self)), offset + UInt64(whole.count))
    }

    static func parse(_ text: Substring) -> [Line] {
        text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let dir = o["dir"] as? String, let e = o["event"] as? [String: Any],
                  let type = e["type"] as? String else { return nil }
            let id = (e["response"] as? [String: Any])?["id"] as? String ?? e["response_id"] as? String
            return Line(tMs: (o["t_ms"] as? Double) ?? 0, dir: dir, type: type, responseID: id, audioBytes: (e["audio"] as? Int) ?? 0)
        }
    }

    /// The log's size now, bytes (where the next block's lines start).
    static func size(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }
}

/// Microphone samples omnid has sent (omni-sim's log of input_audio_buffer.append), read as the
/// log grows.
final class SentAudioCounter {
    let path: String
    private var offset: UInt64
    private(set) var samples = 0

    init(_ path: String, from offset: UInt64) {
        self.path = path
        self.offset = offset
    }

    func update() -> Int {
        let (text, end) = SimEvents.read(path, from: offset)
        offset = end
        // Only the appends need parsing.
        for line in text.split(separator: "\n") where line.contains("input_audio_buffer.append") {
            samples += SimEvents.parse(line).filter { $0.dir == "client" && $0.type == "input_audio_buffer.append" }
                .reduce(0) { $0 + $1.audioBytes / 2 }
        }
        return samples
    }
}
