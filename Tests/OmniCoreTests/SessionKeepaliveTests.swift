import XCTest
import RealtimeProtocol
@testable import OmniCore

final class SessionKeepaliveTests: XCTestCase {
    /// These tests run idle sessions for hours: without the service's idle close (its renewal is
    /// SessionLifecycleTests' subject), only the session cap and the keepalive are at work.
    static let capOnly = SessionSettings(idleClose: nil)

    func testPingsEveryTenSecondsAndDeadLinkAfterTwentyFiveSilentSeconds() {
        let h = SessionHarness(settings: Self.capOnly, random: 0.5)
        let m = h.manager
        h.makeReady()
        let t0 = h.now
        XCTAssertEqual(m.nextDeadline, t0 + .seconds(10))
        h.run(for: .milliseconds(24_999))
        XCTAssertEqual(h.transport.pings, 2, "pings at 10 s and 20 s")
        XCTAssertEqual(m.counters.pingsSent, 2)
        XCTAssertEqual(h.transport.aborts, 0)
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.nextDeadline, t0 + .seconds(25))

        h.run(for: .milliseconds(1))
        XCTAssertEqual(h.transport.aborts, 1)
        XCTAssertEqual(m.counters.deadLinks, 1)
        XCTAssertEqual(h.linkLosses, [.deadLink(silence: .seconds(25))])
        XCTAssertEqual(m.state, .waitingToReconnect(until: h.now + .milliseconds(200), reason: .deadLink(silence: .seconds(25))))
        XCTAssertTrue(h.logs.contains("warning no frames for 25"))

        // The reconnect happens, and the new link configures again.
        h.run(for: .milliseconds(200))
        XCTAssertEqual(h.transport.connects, 2)
        m.handle(.opened)
        XCTAssertEqual(h.transport.sentTypes.last, "session.update")
        h.assertCleanLogs()
    }

    func testPongsKeepTheLinkAlive() {
        let h = SessionHarness(settings: Self.capOnly)
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(for: .seconds(600))
        XCTAssertEqual(h.transport.pings, 60)
        XCTAssertEqual(h.transport.aborts, 0)
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(h.transport.connects, 1)
    }

    func testServerTextKeepsTheLinkAliveWithoutPongs() {
        let h = SessionHarness(settings: Self.capOnly)
        let m = h.manager
        h.makeReady()
        for _ in 0..<30 {
            h.run(for: .seconds(20))
            h.serve(.inputAudioBufferCleared)
        }
        XCTAssertEqual(h.transport.aborts, 0)
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(h.transport.pings, 60)
        // Malformed text is still a frame: it proves the link is alive.
        h.run(for: .seconds(20))
        m.handle(.text("garbage"))
        h.run(for: .seconds(20))
        XCTAssertEqual(m.state, .ready)
        h.run(for: .seconds(5))
        XCTAssertEqual(m.state.phase, .waitingToReconnect)
    }

    func testDeadLinkWhileConfiguring() {
        let h = SessionHarness(settings: SessionSettings(deadAfter: .seconds(5), connectTimeout: .seconds(60), idleClose: nil))
        let m = h.manager
        m.start()
        m.handle(.opened)
        h.run(for: .seconds(5))
        XCTAssertEqual(h.transport.aborts, 1)
        XCTAssertEqual(h.linkLosses, [.deadLink(silence: .seconds(5))])
    }

    func testLateTickDoesNotBurstPings() {
        let h = SessionHarness(settings: Self.capOnly)
        let m = h.manager
        h.makeReady()
        h.clock.advance(by: .seconds(24))
        m.tick()
        XCTAssertEqual(h.transport.pings, 1)
        XCTAssertEqual(m.nextDeadline, h.now - .seconds(24) + .seconds(25), "dead-link comes before the next ping")
    }
}
