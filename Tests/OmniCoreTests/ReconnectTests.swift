#if canImport(Glibc)
import Glibc
#endif
import XCTest
import RealtimeProtocol
@testable import OmniCore

final class ReconnectPolicyTests: XCTestCase {
    let policy = ReconnectPolicy()

    func testDefaults() {
        XCTAssertEqual(policy.baseDelay, .milliseconds(400))
        XCTAssertEqual(policy.maxDelay, .seconds(30))
        XCTAssertEqual(policy.resetAfter, .seconds(60))
        XCTAssertEqual(SessionSettings().reconnect, policy)
    }

    func testCeilingDoublesFromBaseAndStopsAtTheCap() {
        let expected: [Duration] = [.milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200),
                                    .milliseconds(6400), .milliseconds(12800), .milliseconds(25600), .seconds(30),
                                    .seconds(30)]
        XCTAssertEqual((0..<9).map { policy.ceiling(attempt: $0) }, expected)
        XCTAssertEqual(policy.ceiling(attempt: 10_000), .seconds(30), "no overflow for huge attempt numbers")
        XCTAssertEqual(policy.ceiling(attempt: -3), .milliseconds(400))
        let custom = ReconnectPolicy(baseDelay: .seconds(1), maxDelay: .seconds(5))
        XCTAssertEqual((0..<5).map { custom.ceiling(attempt: $0) }, [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
    }

    func testFirstRetryIsAtMostHalfASecondForAnyRandomValue() {
        for r in [0, 0.1, 0.25, 0.5, 0.75, 0.999, 0.999_999_9, 1.0.nextDown, 1, 7, -1, .nan, .infinity] {
            let d = policy.delay(attempt: 0, random: r)
            XCTAssertLessThanOrEqual(d, .milliseconds(500), "random \(r)")
            XCTAssertGreaterThanOrEqual(d, .zero, "random \(r)")
        }
    }

    func testFullJitterBounds() {
        for attempt in 0..<10 {
            let ceiling = policy.ceiling(attempt: attempt)
            XCTAssertEqual(policy.delay(attempt: attempt, random: 0), .zero)
            let high = policy.delay(attempt: attempt, random: 0.999)
            XCTAssertLessThan(high, ceiling)
            XCTAssertGreaterThanOrEqual(high, ceiling * 0.998, "attempt \(attempt)")
            XCTAssertEqual(policy.delay(attempt: attempt, random: 0.5), ceiling / 2)
        }
    }

    func testBackoffResetsOnlyAfterAHealthyMinute() {
        var b = ReconnectBackoff()
        _ = b.nextDelay(at: .zero, random: 0.5)
        _ = b.nextDelay(at: .zero, random: 0.5)
        XCTAssertEqual(b.attempt, 2)
        b.connectionReady(at: .seconds(10))
        XCTAssertEqual(b.nextDelay(at: .seconds(69), random: 0.999), policy.ceiling(attempt: 2) * 0.999, "59 s is not enough")
        b.connectionReady(at: .seconds(100))
        XCTAssertEqual(b.nextDelay(at: .seconds(160), random: 0.999), policy.ceiling(attempt: 0) * 0.999)
        XCTAssertEqual(b.attempt, 1)
    }
}

final class ReconnectTests: XCTestCase {
    /// The delays the manager schedules for `count` consecutive failed connects.
    private func failureDelays(_ h: SessionHarness, count: Int, failure: TransportFailure) -> [Duration] {
        var delays: [Duration] = []
        if h.manager.state == .disconnected { h.manager.start() }
        for _ in 0..<count {
            XCTAssertEqual(h.manager.state, .connecting)
            h.manager.handle(.failed(failure))
            guard let d = h.scheduledDelay else {
                XCTFail("no reconnect scheduled in \(h.manager.state)")
                break
            }
            delays.append(d)
            h.run(for: d)
        }
        return delays
    }

    func testScheduleGrowsByDoublingAndCapsWithHighJitter() {
        let h = SessionHarness(random: 0.999)
        let delays = failureDelays(h, count: 10, failure: .connect("connection refused"))
        let policy = ReconnectPolicy()
        XCTAssertEqual(delays, (0..<10).map { policy.ceiling(attempt: $0) * 0.999 })
        XCTAssertLessThanOrEqual(delays[0], .milliseconds(500))
        for i in 1..<7 { XCTAssertEqual(delays[i], delays[i - 1] * 2, "doubling at retry \(i)") }
        XCTAssertEqual(delays[7], .seconds(30) * 0.999)
        XCTAssertTrue(delays.allSatisfy { $0 < .seconds(30) })
        XCTAssertEqual(h.transport.connects, 11)
        XCTAssertEqual(h.manager.counters.reconnects, 10)
        h.assertCleanLogs()
    }

    func testScheduleWithZeroJitterRetriesAtOnceButNeverSpins() {
        let h = SessionHarness(random: 0)
        let delays = failureDelays(h, count: 5, failure: .dns("no such host"))
        XCTAssertEqual(delays, Array(repeating: .zero, count: 5))
        XCTAssertEqual(h.transport.connects, 6, "exactly one connect per failure")
    }

    func testRetryCounterResetsAfterSixtySecondsHealthy() {
        let h = SessionHarness(random: 0.999)
        h.autoPong = true
        _ = failureDelays(h, count: 4, failure: .connect("refused"))
        XCTAssertEqual(h.manager.reconnectAttempt, 4)
        h.manager.handle(.opened)
        h.serve(.sessionUpdated(.manualTest))
        h.run(for: .seconds(60))
        XCTAssertEqual(h.manager.state, .ready)
        h.manager.handle(.failed(.connect("connection reset by peer")))
        XCTAssertEqual(h.scheduledDelay, .milliseconds(400) * 0.999, "back to the first retry")
    }

    func testRetryCounterKeepsGrowingWhenTheLinkWasHealthyForLessThanAMinute() {
        let h = SessionHarness(random: 0.999)
        h.autoPong = true
        _ = failureDelays(h, count: 4, failure: .connect("refused"))
        h.manager.handle(.opened)
        h.serve(.sessionUpdated(.manualTest))
        h.run(for: .seconds(59))
        h.manager.handle(.failed(.connect("connection reset by peer")))
        XCTAssertEqual(h.scheduledDelay, .milliseconds(6400) * 0.999)
    }

    func testAuthFailureWaitsExactlyTheCapEveryTime() {
        for jitter in [0, 0.5, 0.999] {
            let h = SessionHarness(random: jitter)
            let m = h.manager
            m.start()
            for i in 0..<10 {
                XCTAssertEqual(m.state, .connecting)
                m.handle(.failed(.httpStatus(i % 2 == 0 ? 401 : 403)))
                guard case .authFailed(let until, let reason) = m.state else {
                    XCTFail("expected authFailed, got \(m.state)")
                    return
                }
                XCTAssertEqual(until - h.now, .seconds(30), "failure \(i), jitter \(jitter)")
                XCTAssertEqual(reason, .transport(.httpStatus(i % 2 == 0 ? 401 : 403)))
                let connects = h.transport.connects
                h.run(for: .milliseconds(29_999))
                XCTAssertEqual(h.transport.connects, connects, "never sooner than the cap")
                XCTAssertEqual(m.nextDeadline, until)
                h.run(for: .milliseconds(1))
                XCTAssertEqual(h.transport.connects, connects + 1)
            }
            XCTAssertEqual(h.transport.connects, 11)
            XCTAssertEqual(h.logs.all.filter { $0.hasPrefix("error") && $0.contains("rejected the API key") }.count, 10)
            h.assertCleanLogs()
        }
    }

    func testAuthFailureThenSuccessGoesBackToNormalBackoff() {
        let h = SessionHarness(random: 0.999)
        let m = h.manager
        m.start()
        m.handle(.failed(.httpStatus(401)))
        h.run(for: .seconds(30))
        h.makeReady()
        h.autoPong = true
        h.run(for: .seconds(61))
        m.handle(.failed(.connect("reset")))
        XCTAssertEqual(h.scheduledDelay, .milliseconds(400) * 0.999)
    }

    func testAuthErrorEventWaitsTheCap() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        h.makeReady()
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "InvalidApiKey",
                                   message: "Invalid API-key provided.")))
        XCTAssertEqual(h.events.last(where: { if case .serverError = $0 { true } else { false } }),
                       .serverError(code: "InvalidApiKey", message: "Invalid API-key provided.",
                                    type: "invalid_request_error", recoverable: false))
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(h.transport.closes, [.close(code: 1000, reason: "authentication failed")])
        m.handle(.closed(code: 1000, reason: ""))
        guard case .authFailed(let until, let reason) = m.state else {
            return XCTFail("expected authFailed, got \(m.state)")
        }
        XCTAssertEqual(until - h.now, .seconds(30))
        XCTAssertEqual(reason, .serverError(type: "invalid_request_error", code: "InvalidApiKey",
                                            message: "Invalid API-key provided."))

        // The same while configuring.
        h.run(for: .seconds(30))
        m.handle(.opened)
        h.serve(.error(ErrorDetail(type: "authentication_error", code: "invalid_api_key", message: "bad key")))
        m.handle(.closed(code: 1000, reason: ""))
        XCTAssertEqual(m.state.phase, .authFailed)
        XCTAssertEqual(h.scheduledDelay, .seconds(30))
    }

    func testAuthErrorClassification() {
        func auth(_ type: String?, _ code: String?, _ message: String) -> Bool {
            SessionManager.isAuthError(ErrorDetail(type: type, code: code, message: message))
        }
        XCTAssertTrue(auth(nil, "InvalidApiKey", ""))
        XCTAssertTrue(auth("invalid_request_error", "invalid_api_key", "x"))
        XCTAssertTrue(auth(nil, nil, "Invalid API-key provided."))
        XCTAssertTrue(auth(nil, "", "No API key provided"))
        XCTAssertTrue(auth(nil, "", "401 Unauthorized"))
        XCTAssertFalse(auth("invalid_request_error", "", "Conversation has none active response"))
        XCTAssertFalse(auth("server_error", "", "Internal service error: null"))
        XCTAssertFalse(auth("invalid_request_error", "invalid_value", "Invalid modalities: ['audio']."))
        XCTAssertFalse(auth(nil, nil, "Requests rate limit exceeded"))
    }

    func testFailureKindsAreLoggedDistinctly() {
        let cases: [(TransportFailure, String)] = [
            (.dns("no such host"), "[DNS]"), (.tls("certificate expired"), "[TLS]"),
            (.connect("connection refused"), "[connect]"), (.httpStatus(502), "[HTTP]"),
            (.protocolError("bad opcode"), "[protocol]"), (.refused("ws:// to a remote host"), "[refused]"),
        ]
        for (failure, tag) in cases {
            let h = SessionHarness()
            h.manager.start()
            h.manager.handle(.failed(failure))
            let line = h.logs.all.first { $0.hasPrefix("warning connection attempt failed") }
            XCTAssertNotNil(line, "\(failure)")
            XCTAssertTrue(line?.contains(tag) == true, "\(line ?? "") should name \(tag)")
            XCTAssertTrue(line?.contains(failure.description) == true)
            XCTAssertEqual(h.manager.state.phase, .waitingToReconnect)
            XCTAssertEqual(h.linkLosses, [.transport(failure)])
        }
        // A failure of a live link is worded differently from a failed attempt.
        let h = SessionHarness()
        h.makeReady()
        h.manager.handle(.failed(.protocolError("unexpected continuation frame")))
        XCTAssertTrue(h.logs.contains("warning link failed [protocol]"))
        // A live link that simply dropped is "lost", not a connect failure.
        let d = SessionHarness()
        d.makeReady()
        d.manager.handle(.failed(.connect("connection lost")))
        XCTAssertTrue(d.logs.contains("warning link lost: connection failed: connection lost"), "\(d.logs.all)")
    }

    func testServerCloseSchedulesReconnect() {
        let h = SessionHarness(random: 0.5)
        let m = h.manager
        h.makeReady()
        m.handle(.closed(code: 1011, reason: "upstream"))
        XCTAssertEqual(h.linkLosses, [.closedByPeer(code: 1011, reason: "upstream")])
        XCTAssertEqual(m.state, .waitingToReconnect(until: h.now + .milliseconds(200),
                                                    reason: .closedByPeer(code: 1011, reason: "upstream")))
        XCTAssertEqual(m.nextDeadline, h.now + .milliseconds(200))
        h.run(for: .milliseconds(200))
        XCTAssertEqual(m.state, .connecting)
        XCTAssertEqual(m.counters.reconnects, 1)
    }

    func testConnectTimeoutAbortsAndRetries() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        m.start()
        h.run(for: .milliseconds(14_999))
        XCTAssertEqual(m.state, .connecting)
        h.run(for: .milliseconds(1))
        XCTAssertEqual(h.transport.aborts, 1)
        XCTAssertEqual(h.linkLosses, [.connectTimeout])
        XCTAssertEqual(h.transport.connects, 2, "zero jitter: the retry is due at once")

        // Opened but never configured also times out (15 s from connect).
        m.handle(.opened)
        h.serve(.sessionCreated(SessionConfig(id: "sess_x")))
        h.run(for: .seconds(15))
        XCTAssertEqual(h.transport.aborts, 2)
        XCTAssertEqual(h.linkLosses.last, .connectTimeout)
    }

    func testStaleEventsInWaitStatesAreIgnored() {
        let h = SessionHarness(random: 0.5)
        let m = h.manager
        m.start()
        m.handle(.failed(.connect("refused")))
        let state = m.state
        m.handle(.opened)
        m.handle(.closed(code: 1000, reason: ""))
        m.handle(.failed(.dns("x")))
        m.handle(.text(#"{"type":"session.updated","session":{}}"#))
        XCTAssertEqual(m.state, state)
        XCTAssertEqual(h.transport.sent.count, 0)
        XCTAssertEqual(m.counters.messagesReceived, 0)
    }

    func testReconnectNowSkipsTheWait() {
        let h = SessionHarness()
        let m = h.manager
        m.start()
        m.handle(.failed(.httpStatus(401)))
        XCTAssertEqual(m.state.phase, .authFailed)
        m.updateRequest(ConnectRequest(url: "wss://example.invalid/other", headers: [("Authorization", "Bearer sk-NEWKEY1234")]))
        m.reconnectNow()
        XCTAssertEqual(m.state, .connecting)
        XCTAssertEqual(h.transport.calls.last, .connect(url: "wss://example.invalid/other"))
        m.reconnectNow()                                 // not waiting: no-op
        XCTAssertEqual(h.transport.connects, 2)
    }

    /// It reads CLOCK_MONOTONIC, in the right units: a reading taken straight from the kernel
    /// between two of its readings lies between them (no bound on how long anything took).
    func testSystemMonotonicClockIsClockMonotonic() {
        let c = SystemMonotonicClock()
        let a = c.now()
        var ts = timespec()
        XCTAssertEqual(clock_gettime(CLOCK_MONOTONIC, &ts), 0)
        let direct = Duration.seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
        let b = c.now()
        XCTAssertGreaterThan(a, .zero)
        XCTAssertLessThanOrEqual(a, direct)
        XCTAssertLessThanOrEqual(direct, b)
    }

    func testManualClockIsMonotonic() {
        let c = ManualClock(.seconds(5))
        c.advance(by: .seconds(2))
        XCTAssertEqual(c.now(), .seconds(7))
        c.advance(by: .seconds(-3))
        c.set(to: .seconds(1))
        XCTAssertEqual(c.now(), .seconds(7))
        c.set(to: .seconds(9))
        XCTAssertEqual(c.now(), .seconds(9))
    }
}
