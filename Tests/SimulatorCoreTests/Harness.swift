import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// Drives one SimConnection with injected time and records everything it asks to send.
final class Harness {
    let session: SimConnection
    private(set) var now: Duration = .zero
    private(set) var log: [(at: Duration, action: SimAction)] = []

    init(options: SimOptions = SimOptions(), fault: FaultPlan? = nil, model: String = "qwen3-omni-flash-realtime",
         seed: UInt64 = 42) {
        session = SimConnection(model: model, options: options, fault: fault, seed: seed)
        record(session.open())
    }

    private func record(_ actions: [SimAction]) {
        for a in actions { log.append((now, a)) }
    }

    /// Sends a client frame at the current time.
    @discardableResult
    func send(_ json: String) -> [SimAction] {
        let a = session.receive(text: json, now: now)
        record(a)
        return a
    }

    @discardableResult
    func send(_ body: ClientEventBody) -> [SimAction] { send(ClientEvent(eventID: "event_test", body).encoded()) }

    /// Appends 16 kHz samples.
    @discardableResult
    func append(_ samples: [Int16]) -> [SimAction] { send(.inputAudioBufferAppend(audio: PCM16.base64(samples))) }

    /// Moves the clock to `t`, firing timers on the way at their own due times.
    func advance(to t: Duration) {
        while let d = session.nextDeadline, d <= t {
            now = max(now, d)
            record(session.tick(now: now))
        }
        now = max(now, t)
    }

    func advance(by d: Duration) { advance(to: now + d) }

    /// Runs timers until nothing is planned before `limit` after now.
    func settle(limit: Duration = .seconds(60)) { advance(to: now + limit) }

    var actions: [SimAction] { log.map(\.action) }
    var events: [ServerEvent] {
        log.compactMap { if case .send(let e) = $0.action { e } else { nil } }
    }
    var types: [String] { events.map(\.type) }

    func events(_ type: String) -> [ServerEvent] { events.filter { $0.type == type } }

    /// Events sent since index `from` of `log`.
    func types(since from: Int) -> [String] {
        log[from...].compactMap { if case .send(let e) = $0.action { e.type } else { nil } }
    }

    /// Decoded 24 kHz samples of every audio delta, in order.
    var outputAudio: [Int16] {
        events.flatMap { e -> [Int16] in
            if case .audioDelta(_, let d) = e.body { return PCM16.samples(fromBase64: d) ?? [] }
            return []
        }
    }

    func lastError() -> ErrorDetail? {
        for e in events.reversed() { if case .error(let d) = e.body { return d } }
        return nil
    }
}

enum Signal {
    /// A sine at 16 kHz (the input rate) starting at phase 0.
    static func tone(ms: Double, hz: Double = 300, amplitude: Double = 4000, rate: Double = 16_000) -> [Int16] {
        let n = Int((ms * rate / 1000).rounded())
        return (0..<n).map { Int16((amplitude * sin(2 * Double.pi * hz * Double($0) / rate)).rounded()) }
    }

    static func silence(ms: Double, rate: Double = 16_000) -> [Int16] {
        [Int16](repeating: 0, count: Int((ms * rate / 1000).rounded()))
    }
}

extension SimOptions {
    /// Burst answers with a short tone, no delays: most tests only care about order.
    static func fast(toneMs: Int = 500) -> SimOptions {
        var o = SimOptions()
        o.answer = .tone(ToneSpec(durationMs: toneMs))
        o.speed = 0
        o.firstDeltaMs = 0
        o.responseDelayMs = 0
        return o
    }
}

let manualUpdate = #"{"type":"session.update","session":{"modalities":["audio","text"],"voice":"Cherry","input_audio_format":"pcm16","output_audio_format":"pcm16","input_audio_transcription":{"model":"gummy-realtime-v1"},"turn_detection":null}}"#
