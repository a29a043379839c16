// A controller stand-in for session manager tests: a manual clock, a fake transport, captured
// events and logs, and helpers that play the service's side.

import Logging
import XCTest
import RealtimeProtocol
@testable import OmniCore

/// Values for the injected random source: `values` first, then `fallback` forever.
final class FakeRandom {
    var values: [Double] = []
    var fallback: Double
    init(_ fallback: Double = 0.5) { self.fallback = fallback }
    func next() -> Double { values.isEmpty ? fallback : values.removeFirst() }
}

final class SessionEventSink {
    var events: [SessionEvent] = []
    /// Called for every event after it is recorded (for re-entrancy tests).
    var reaction: ((SessionEvent) -> Void)?
}

extension SessionConfig {
    static let manualTest = SessionConfig(modalities: ["text", "audio"], voice: "Cherry", inputAudioFormat: "pcm16",
                                          outputAudioFormat: "pcm16", turnDetection: .null, instructions: "Be brief.")
    static let vadTest = SessionConfig(modalities: ["text", "audio"], voice: "Ethan", inputAudioFormat: "pcm16",
                                       outputAudioFormat: "pcm16", turnDetection: .set(TurnDetection(threshold: 0.2)))
}

extension ConnectRequest {
    static let secretKey = "not-a-real-key-for-the-log-test"
    static let test = ConnectRequest(url: "wss://example.invalid/api-ws/v1/realtime?model=qwen3-omni-flash-realtime",
                                     headers: [("Authorization", "Bearer \(secretKey)")])
}

final class SessionHarness {
    let clock = ManualClock()
    let transport = FakeTransport()
    let logs = FakeLogStore()
    let random: FakeRandom
    let sink = SessionEventSink()
    let config: SessionConfig
    let manager: SessionManager
    /// Answer every ping with a pong (a healthy link).
    var autoPong = false
    private var serverCounter = 0

    init(settings: SessionSettings = SessionSettings(), config: SessionConfig = .manualTest,
         request: ConnectRequest = .test, random: Double = 0.5) {
        self.config = config
        let random = FakeRandom(random)
        self.random = random
        let store = logs
        let sink = sink
        let logger = Logger(label: "test.session") { _ in FakeLogHandler(store: store) }
        manager = SessionManager(request: request, session: config, transport: transport, clock: clock,
                                 settings: settings, random: { random.next() }, logger: logger) { e in
            sink.events.append(e)
            sink.reaction?(e)
        }
    }

    var now: Duration { clock.now() }
    var events: [SessionEvent] { sink.events }
    var states: [SessionState] { events.compactMap { if case .stateChanged(let s) = $0 { s } else { nil } } }
    var serverEvents: [ServerEvent] { events.compactMap { if case .server(let e) = $0 { e } else { nil } } }
    var linkLosses: [LinkLossReason] { events.compactMap { if case .linkLost(let r) = $0 { r } else { nil } } }

    /// The service sends one event.
    func serve(_ body: ServerEventBody) {
        serverCounter += 1
        manager.handle(.text(ServerEvent(eventID: "event_srv\(serverCounter)", body).encoded()))
    }

    /// start → opened → session.updated.
    func makeReady(file: StaticString = #filePath, line: UInt = #line) {
        if manager.state == .disconnected { manager.start() }
        manager.handle(.opened)
        serve(.sessionUpdated(manager.session))
        XCTAssertEqual(manager.state, .ready, file: file, line: line)
    }

    /// Acts like the controller loop for `duration`: ticks at every deadline that falls inside it
    /// (answering pings when `autoPong`), then leaves the clock at the end.
    func run(for duration: Duration, file: StaticString = #filePath, line: UInt = #line) {
        run(until: now + duration, file: file, line: line)
    }

    func run(until end: Duration, file: StaticString = #filePath, line: UInt = #line) {
        var steps = 0
        while let d = manager.nextDeadline, d <= end {
            steps += 1
            if steps > 100_000 {
                XCTFail("controller loop does not advance (deadline \(d), now \(now))", file: file, line: line)
                return
            }
            clock.set(to: d)
            let pings = transport.pings
            manager.tick()
            if autoPong && transport.pings > pings { manager.handle(.pong) }
        }
        clock.set(to: end)
    }

    /// `until` of a wait state, relative to now.
    var scheduledDelay: Duration? {
        switch manager.state {
        case .waitingToReconnect(let until, _), .authFailed(let until, _): until - now
        default: nil
        }
    }

    /// No log line reported an invalid state transition or leaked the key.
    func assertCleanLogs(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(logs.contains("invalid session state transition"), "\(logs.all)", file: file, line: line)
        XCTAssertFalse(logs.contains(ConnectRequest.secretKey), file: file, line: line)
    }
}

func audioPayload(_ i: Int) -> String { "QUFB\(i)" }

extension ClientEvent {
    var audio: String? { if case .inputAudioBufferAppend(let a) = body { a } else { nil } }
    var config: SessionConfig? { if case .sessionUpdate(let c) = body { c } else { nil } }
}
