import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// Server VAD timing on synthetic speech (tone bursts with silence gaps), fed in 10 ms appends so
/// the position at which each event is emitted is known to the sample.
final class VADTests: XCTestCase {
    struct Observation {
        var startedAt: [Double] = []  // input ms when speech_started was emitted
        var audioStart: [Int] = []
        var stoppedAt: [Double] = []
        var audioEnd: [Int] = []
        var types: [String] = []
    }

    /// Feeds `signal` in 10 ms appends (the last may be shorter) and notes where VAD events appear.
    func run(_ signal: [Int16], session: String, options: SimOptions = .fast()) -> (Observation, Harness) {
        let h = Harness(options: options)
        h.send(#"{"type":"session.update","session":\#(session)}"#)
        var o = Observation()
        var pos = 0
        while pos < signal.count {
            let chunk = Array(signal[pos..<min(pos + 160, signal.count)])
            pos += chunk.count
            h.advance(by: .milliseconds(10))
            for a in h.append(chunk) {
                guard case .send(let e) = a else { continue }
                o.types.append(e.type)
                switch e.body {
                case .speechStarted(let ms, _):
                    o.startedAt.append(Double(pos) / 16)
                    o.audioStart.append(ms)
                case .speechStopped(let ms, _):
                    o.stoppedAt.append(Double(pos) / 16)
                    o.audioEnd.append(ms)
                default: break
                }
            }
        }
        return (o, h)
    }

    func within(_ a: Double, _ b: Double, _ tol: Double = 10, _ what: String, file: StaticString = #filePath,
                line: UInt = #line) {
        XCTAssertLessThanOrEqual(abs(a - b), tol, "\(what): \(a) vs expected \(b)", file: file, line: line)
    }

    /// Bursts at offsets that are not frame-aligned; a 300 ms gap inside the first utterance.
    func testStartStopTimingDefaults() {
        let pre = 1234.4, burst1 = 600.0, gap = 300.0, burst2 = 400.0, pause = 1500.0, burst3 = 500.0
        let signal = Signal.silence(ms: pre) + Signal.tone(ms: burst1) + Signal.silence(ms: gap)
            + Signal.tone(ms: burst2) + Signal.silence(ms: pause) + Signal.tone(ms: burst3) + Signal.silence(ms: 1200)
        let (o, _) = run(signal, session: #"{"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":800}}"#)
        XCTAssertEqual(o.startedAt.count, 2, "the 300 ms gap does not end the turn")
        XCTAssertEqual(o.stoppedAt.count, 2)
        let onset1 = pre, end1 = pre + burst1 + gap + burst2
        let onset2 = end1 + pause, end2 = onset2 + burst3
        within(Double(o.audioStart[0]), onset1 - 300, 10, "audio_start_ms = onset − prefix_padding_ms")
        within(Double(o.audioStart[1]), onset2 - 300, 10, "second audio_start_ms")
        within(o.startedAt[0], onset1 + 100, 10, "speech_started after min speech")
        within(Double(o.audioEnd[0]), end1, 10, "audio_end_ms = end of speech")
        within(Double(o.audioEnd[1]), end2, 10, "second audio_end_ms")
        within(o.stoppedAt[0], end1 + 800, 10, "speech_stopped after silence_duration_ms")
        within(o.stoppedAt[1], end2 + 800, 10, "second speech_stopped")
    }

    func testOtherParameters() {
        for (silence, prefix) in [(200, 0), (500, 200), (1230, 500)] {
            let pre = 2003.1, burst = 777.7
            let signal = Signal.silence(ms: pre) + Signal.tone(ms: burst) + Signal.silence(ms: Double(silence) + 300)
            let (o, _) = run(signal, session: #"{"turn_detection":{"type":"server_vad","threshold":0.2,"prefix_padding_ms":\#(prefix),"silence_duration_ms":\#(silence)}}"#)
            XCTAssertEqual(o.stoppedAt.count, 1)
            guard o.stoppedAt.count == 1 else { continue }
            within(Double(o.audioStart[0]), pre - Double(prefix), 10, "audio_start_ms, prefix \(prefix)")
            within(Double(o.audioEnd[0]), pre + burst, 10, "audio_end_ms")
            within(o.stoppedAt[0] - Double(o.audioEnd[0]), Double(silence), 10, "silence window \(silence)")
        }
    }

    func testTurnSequenceAndAutoResponse() {
        let signal = Signal.silence(ms: 500) + Signal.tone(ms: 700) + Signal.silence(ms: 1000)
        let (o, h) = run(signal, session: #"{"turn_detection":{"type":"server_vad","silence_duration_ms":500}}"#)
        XCTAssertEqual(Array(o.types.prefix(4)), [
            "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed", "conversation.item.created",
        ])
        h.settle()
        XCTAssertEqual(h.events("response.done").count, 1)
        let started = h.events("input_audio_buffer.speech_started")[0]
        let committed = h.events("input_audio_buffer.committed")[0]
        guard case .speechStarted(_, let a) = started.body, case .inputAudioBufferCommitted(let b, _) = committed.body
        else { return XCTFail() }
        XCTAssertEqual(a, b, "speech_started announces the item id that is committed")
    }

    func testThresholdMapping() {
        XCTAssertEqual(VADSettings.levelDBFS(threshold: -1), -60)
        XCTAssertEqual(VADSettings.levelDBFS(threshold: 0), -40)
        XCTAssertEqual(VADSettings.levelDBFS(threshold: 0.5), -30)
        XCTAssertEqual(VADSettings.levelDBFS(threshold: 1), -20)
        // A sine with RMS at −35 dBFS: speech for threshold 0 (−40), not for 0.5 (−30).
        let amplitude = 32768 * pow(10, -35.0 / 20) * 2.0.squareRoot()
        let quiet = Signal.silence(ms: 300) + Signal.tone(ms: 600, amplitude: amplitude) + Signal.silence(ms: 1000)
        let (sensitive, _) = run(quiet, session: #"{"turn_detection":{"type":"server_vad","threshold":0.0}}"#)
        XCTAssertEqual(sensitive.startedAt.count, 1)
        let (deaf, _) = run(quiet, session: #"{"turn_detection":{"type":"server_vad","threshold":0.5}}"#)
        XCTAssertEqual(deaf.startedAt.count, 0)
    }

    func testShortBlipIgnored() {
        let signal = Signal.silence(ms: 300) + Signal.tone(ms: 60) + Signal.silence(ms: 1500)
        let (o, _) = run(signal, session: #"{"turn_detection":{"type":"server_vad"}}"#)
        XCTAssertEqual(o.startedAt.count, 0)
    }

    func testLargeAppendsGiveTheSameEvents() {
        // One append with the whole utterance (what manual_mode.py does) decides identically.
        let signal = Signal.silence(ms: 450) + Signal.tone(ms: 800) + Signal.silence(ms: 1000)
        let h = Harness(options: .fast())
        h.send(#"{"type":"session.update","session":{"turn_detection":{"type":"server_vad"}}}"#)
        h.append(signal)
        guard case .speechStarted(let s, _) = h.events("input_audio_buffer.speech_started").first?.body,
            case .speechStopped(let e, _) = h.events("input_audio_buffer.speech_stopped").first?.body
        else { return XCTFail("no turn") }
        XCTAssertEqual(s, 450 - 300)
        XCTAssertEqual(e, 1250)
    }

    func testCommittedAudioIsTheUtteranceWithPrefix() {
        // Echo answers with what was committed: prefix padding + speech, resampled to 24 kHz.
        var opts = SimOptions.fast()
        opts.answer = .echo
        let signal = Signal.silence(ms: 1000) + Signal.tone(ms: 500) + Signal.silence(ms: 1000)
        let (_, h) = run(signal, session: #"{"turn_detection":{"type":"server_vad","prefix_padding_ms":200,"silence_duration_ms":500}}"#,
                         options: opts)
        h.settle()
        let out = h.outputAudio
        XCTAssertEqual(Double(out.count), (200 + 500) * 24, accuracy: 24 * 10)
    }

    func testClearDropsUtteranceInProgress() {
        let h = Harness(options: .fast())
        h.send(#"{"type":"session.update","session":{"turn_detection":{"type":"server_vad","silence_duration_ms":300}}}"#)
        h.append(Signal.tone(ms: 400))
        XCTAssertEqual(h.types.last, "input_audio_buffer.speech_started")
        h.send(.inputAudioBufferClear)
        h.append(Signal.silence(ms: 1000))
        XCTAssertFalse(h.types.contains("input_audio_buffer.speech_stopped"))
    }

    func testManualModeHasNoVAD() {
        let h = Harness(options: .fast())
        h.send(manualUpdate)
        h.append(Signal.silence(ms: 200) + Signal.tone(ms: 500) + Signal.silence(ms: 1500))
        XCTAssertEqual(h.types, ["session.created", "session.updated"])
    }
}
