import Foundation
import Logging
import OmniCore
import OmniLinux
import RealtimeProtocol
import XCTest

/// The whole audio path against omni-sim: speech captured through ALSA (file plugin infile)
/// goes to the service as 16 kHz input, omni-sim's deterministic `tone` answer comes back as
/// response.audio.delta events and reaches the ALSA output file complete, in order, without
/// gap or duplicate, and the end of the answer drains.
final class AudioEndToEndTests: XCTestCase {
    func testToneAnswerFromOmniSimReachesTheSpeakerWhole() throws {
        let sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "1000", "--speed", "4", "--delta-ms", "100"])
        let dir = try AudioTestSupport.scratchDirectory("e2e")
        defer { AudioTestSupport.remove(dir) }

        // The user's "speech": 0.8 s of a 300 Hz tone at 48 kHz stereo, then silence.
        var speech: [Int16] = []
        for n in 0..<(48_000 * 3) {
            let v = n < 38_400 ? PCM.clampToInt16(8000 * sin(2 * Double.pi * 300 * Double(n) / 48_000)) : 0
            speech += [v, v]
        }
        try AudioTestSupport.writeRaw(speech, to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 2, playbackChannels: 2)
        var config = AudioTestSupport.audioConfig(captureRate: 48_000, playbackRate: 24_000, periodMs: 20)
        // The answer starts playing once it is all in (response.audio.done): how promptly the
        // deltas cross the loopback on a busy machine cannot make it underrun.
        AudioTestSupport.holdPlaybackUntilTheEnd(&config)
        let events = AudioEventLog()
        let engine = AudioEngine(config: config, options: AudioTestSupport.options(configFile: conf, speed: 2),
                                 onEvent: events.handler)
        try engine.start(waitForDevice: false)
        defer { engine.stop() }

        let loop = ControllerLoop(label: "test.audio.e2e")
        let received = ReceivedAudio()
        var session = RealtimeProtocol.SessionConfig()
        session.modalities = ["text", "audio"]
        session.voice = "Cherry"
        session.inputAudioFormat = "pcm16"
        session.outputAudioFormat = "pcm16"
        session.turnDetection = .null
        let runtime = SessionHost(
            request: ConnectRequest(url: sim.url + "?model=qwen3-omni-flash-realtime",
                                    headers: [("Authorization", "Bearer sk-audio-e2e")]),
            session: session, settings: SessionSettings(), loop: loop, logger: Logger(label: "test.session"))
        loop.post {
            runtime.setEventHandler { event in
                guard case .server(let e) = event else {
                    if event == .ready { received.markReady() }
                    return
                }
                switch e.body {
                case .audioDelta(_, let delta):
                    let samples = PCM16.samples(fromBase64: delta) ?? []
                    received.add(samples)
                    engine.enqueuePlayback(samples24k: samples)  // decoded straight into the playback ring
                case .audioDone:
                    engine.endOfAnswer()
                default:
                    break
                }
            }
        }
        runtime.start()
        defer {
            let done = DispatchSemaphore(value: 0)
            runtime.stop { done.signal() }
            _ = done.wait(timeout: .now() + TestGuard.seconds)
        }
        XCTAssertTrue(AudioTestSupport.wait { received.isReady }, "session never ready")

        // Push-to-talk: what the microphone captured (16 kHz) goes up, then commit + respond.
        engine.discardCaptured()
        var sent = 0
        XCTAssertTrue(AudioTestSupport.wait {
            let chunk = engine.readCaptured()
            if !chunk.isEmpty {
                sent += chunk.count
                loop.post { runtime.withManager { $0.appendAudio(samples: chunk) } }
            }
            return sent >= 16_000
        })
        loop.post { runtime.withManager { m in m.commit(); m.createResponse() } }

        XCTAssertTrue(AudioTestSupport.wait { events.drained == 1 }, "answer never drained: \(events.all)")
        let tone = AudioTestSupport.tone(ms: 1000)
        XCTAssertEqual(received.samples.count, tone.count, "omni-sim sent the whole tone")
        XCTAssertTrue(received.samples == tone, "omni-sim's tone is the documented formula")
        let counters = engine.counters
        XCTAssertEqual(counters.answerFramesPlayed, tone.count)
        XCTAssertEqual(counters.underruns, 0)
        engine.stop()

        // The speaker file: silence, the whole tone bit-exact (24 kHz device, unity volume), silence.
        let output = AudioTestSupport.channel(try AudioTestSupport.readRaw("\(dir)/playback-out.raw"), 0, of: 2)
        guard let first = output.firstIndex(where: { $0 != 0 }) else { return XCTFail("silent output") }
        let start = first - 1  // tone sample 0 is 0
        XCTAssertGreaterThanOrEqual(output.count, start + tone.count, "answer cut")
        XCTAssertTrue(Array(output[start..<min(output.count, start + tone.count)]) == tone,
                      "complete, in order, no gap, no duplicate")
        XCTAssertTrue(output[min(output.count, start + tone.count)...].allSatisfy { $0 == 0 })
    }
}

private final class ReceivedAudio: @unchecked Sendable {
    private let lock = NSLock()
    private var all: [Int16] = []
    private var ready = false
    func add(_ s: [Int16]) { lock.withLock { all += s } }
    func markReady() { lock.withLock { ready = true } }
    var samples: [Int16] { lock.withLock { all } }
    var isReady: Bool { lock.withLock { ready } }
}
