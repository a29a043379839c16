import Foundation
import Logging
import OmniCore
import OmniLinux
import RealtimeProtocol
import XCTest

/// The real libwebsockets client and session manager against the real omni-sim binary.
final class SessionLoopbackTests: XCTestCase {
    /// The session events, in the order the controller loop saw them.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [SessionEvent] = []
        func add(_ e: SessionEvent) { lock.withLock { events.append(e) } }
        var all: [SessionEvent] { lock.withLock { events } }
        func count(_ match: (SessionEvent) -> Bool) -> Int { all.filter(match).count }
        /// Waits for `cond` (the timeout is a hang guard).
        func wait(_ cond: (Recorder) -> Bool) -> Bool { eventually { cond(self) } }
        var readyCount: Int { count { $0 == .ready } }
        var serverEvents: [ServerEvent] { all.compactMap { if case .server(let s) = $0 { s } else { nil } } }
    }

    func manualSession() -> RealtimeProtocol.SessionConfig {
        var s = RealtimeProtocol.SessionConfig()
        s.modalities = ["text", "audio"]
        s.voice = "Cherry"
        s.inputAudioFormat = "pcm16"
        s.outputAudioFormat = "pcm16"
        s.turnDetection = .null
        s.instructions = "You are a test."
        return s
    }

    /// 1 s of a 300 Hz tone at 16 kHz in 100 ms chunks (the traces' stand-in for speech).
    func speechChunks() -> [[Int16]] {
        (0..<10).map { c in
            (0..<1600).map { i in
                let n = Double(c * 1600 + i)
                return Int16(8000 * sin(2 * Double.pi * 300 * n / 16000))
            }
        }
    }

    /// A turn, then omni-sim is killed and started again on the same port: the client notices
    /// the loss, reconnects by itself and configures the new session before calling it ready.
    /// How fast that goes is a figure, not a property: bench/run.sh prints it ("reconnect:
    /// kill -9 omni-sim → session ready again", 10 runs); nothing here depends on it.
    func testTurnThenServerRestartReconnectsAndConfiguresAgain() throws {
        var sim = try SimProcess(arguments: ["--answer", "tone", "--tone-ms", "1000", "--speed", "0",
                                             "--first-delta-ms", "0"])
        let port = sim.port
        let loop = ControllerLoop(label: "test.controller")
        let rec = Recorder()
        let request = ConnectRequest(url: sim.url + "?model=qwen3-omni-flash-realtime",
                                     headers: [("Authorization", "Bearer sk-loopback-test")])
        let runtime = SessionHost(request: request, session: manualSession(), settings: SessionSettings(),
                                     loop: loop, logger: Logger(label: "test.session"))
        loop.post { runtime.setEventHandler { rec.add($0) } }
        runtime.start()
        defer {
            let done = DispatchSemaphore(value: 0)
            runtime.stop { done.signal() }
            _ = done.wait(timeout: .now() + TestGuard.seconds)
        }

        XCTAssertTrue(rec.wait { $0.readyCount == 1 }, "never ready: \(rec.all)")
        // Configure-then-ready: session.updated arrived and echoes our manual-mode config.
        let updated = rec.serverEvents.compactMap { e -> RealtimeProtocol.SessionConfig? in
            if case .sessionUpdated(let s) = e.body { s } else { nil }
        }
        XCTAssertEqual(updated.first?.turnDetection, .null)
        XCTAssertEqual(updated.first?.instructions, "You are a test.")

        // One push-to-talk turn.
        let chunks = speechChunks()
        loop.post {
            runtime.withManager { m in
                for c in chunks { m.appendAudio(samples: c) }
                m.commit()
                m.createResponse()
            }
        }
        XCTAssertTrue(rec.wait { r in r.serverEvents.contains { $0.type == "response.done" } },
                      "no response.done: \(rec.serverEvents.map(\.type))")
        let audio = rec.serverEvents.compactMap { e -> [Int16]? in
            if case .audioDelta(_, let d) = e.body { PCM16.samples(fromBase64: d) } else { nil }
        }.flatMap { $0 }
        XCTAssertEqual(audio.count, 24_000, "1 s of 24 kHz tone expected")
        XCTAssertTrue(rec.serverEvents.contains { $0.type == "input_audio_buffer.committed" })

        // Kill the server outright, bring it back on the same port: ready again, by itself.
        sim.child.killAndWait()
        XCTAssertTrue(rec.wait { r in r.count { if case .linkLost = $0 { true } else { false } } >= 1 },
                      "the loss went unnoticed: \(rec.all)")
        sim = try SimProcess(port: port, arguments: ["--answer", "tone"])
        XCTAssertTrue(rec.wait { $0.readyCount == 2 }, "not ready after restart: \(rec.all)")
        // In order: ready, the loss, then (re)configured on the new connection, then ready.
        let events = rec.all
        let firstReady = try XCTUnwrap(events.firstIndex(of: .ready))
        let lost = try XCTUnwrap(events.firstIndex { if case .linkLost = $0 { true } else { false } })
        let secondReady = try XCTUnwrap(events.lastIndex(of: .ready))
        XCTAssertLessThan(firstReady, lost)
        XCTAssertLessThan(lost, secondReady)
        let updatedAt = events.indices.filter { i in
            if case .server(let e) = events[i], e.type == "session.updated" { true } else { false }
        }
        XCTAssertEqual(updatedAt.count, 2, "configured once per connection: \(events)")
        if updatedAt.count == 2 {
            XCTAssertTrue(lost < updatedAt[1] && updatedAt[1] < secondReady, "configure, then ready: \(events)")
        }
        _ = sim
    }
}
