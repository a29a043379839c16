import Foundation
import Logging
import OmniCore
import OmniLinux
import RealtimeProtocol
import XCTest

/// The real libwebsockets client and session manager against the real omni-sim binary.
final class SessionLoopbackTests: XCTestCase {
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [(Date, SessionEvent)] = []
        func add(_ e: SessionEvent) { lock.withLock { events.append((Date(), e)) } }
        var all: [(Date, SessionEvent)] { lock.withLock { events } }
        func count(_ match: (SessionEvent) -> Bool) -> Int { all.filter { match($0.1) }.count }
        func wait(_ timeout: TimeInterval, _ cond: (Recorder) -> Bool) -> Bool {
            let end = Date().addingTimeInterval(timeout)
            while Date() < end {
                if cond(self) { return true }
                Thread.sleep(forTimeInterval: 0.002)
            }
            return cond(self)
        }
        var readyTimes: [Date] { all.filter { $0.1 == .ready }.map(\.0) }
        var serverEvents: [ServerEvent] { all.compactMap { if case .server(let s) = $0.1 { s } else { nil } } }
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

    func testTurnThenServerRestartIsReadyWithinOneSecond() throws {
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
            _ = done.wait(timeout: .now() + 5)
        }

        XCTAssertTrue(rec.wait(5) { $0.readyTimes.count == 1 }, "never ready: \(rec.all.map(\.1))")
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
        XCTAssertTrue(rec.wait(10) { r in r.serverEvents.contains { $0.type == "response.done" } },
                      "no response.done: \(rec.serverEvents.map(\.type))")
        let audio = rec.serverEvents.compactMap { e -> [Int16]? in
            if case .audioDelta(_, let d) = e.body { PCM16.samples(fromBase64: d) } else { nil }
        }.flatMap { $0 }
        XCTAssertEqual(audio.count, 24_000, "1 s of 24 kHz tone expected")
        XCTAssertTrue(rec.serverEvents.contains { $0.type == "input_audio_buffer.committed" })

        // Kill the server outright, bring it back on the same port, time until ready again.
        sim.child.killAndWait()
        XCTAssertTrue(rec.wait(5) { r in r.count { if case .linkLost = $0 { true } else { false } } >= 1 })
        sim = try SimProcess(port: port, arguments: ["--answer", "tone"])
        let back = Date()
        XCTAssertTrue(rec.wait(10) { $0.readyTimes.count == 2 }, "not ready after restart: \(rec.all.map(\.1))")
        let reconnect = rec.readyTimes[1].timeIntervalSince(back)
        print("reconnect: ready \(String(format: "%.3f", reconnect)) s after omni-sim was listening again")
        XCTAssertLessThanOrEqual(reconnect, 1.0)
        // Re-configured on the new connection.
        XCTAssertEqual(rec.serverEvents.filter { $0.type == "session.updated" }.count, 2)
        _ = sim
    }
}
