#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
@testable import OmniLinux
import XCTest

/// The control socket's limits (issue 16): silent connections cannot lock `omnid ctl` out, a
/// line cannot grow without bound, an idle client is closed, and a status the controller does
/// not give in time becomes an error. Time comes from a ManualClock; a connection from the test
/// is what makes the server look at the clock again.
final class ControlLimitsTests: XCTestCase {
    let tmp = ControlTempDir()
    var path: String { "\(tmp.path)/c.sock" }

    let sampleStatus = ApplianceStatus(state: .ready, mode: .pushToTalk, connection: "ready")

    func server(limits: ControlLimits = ControlLimits(), clock: ManualClock = ManualClock(),
                events: GPIOEventCollector<ButtonEvent> = GPIOEventCollector(),
                status: ControlServer.StatusProvider? = nil) throws -> ControlServer {
        let sample = sampleStatus
        let s = try ControlServer(path: path, limits: limits, clock: clock, onButton: { events.add($0.event) },
                                  status: status ?? { $0(sample) })
        try s.start()
        return s
    }

    /// 20 connections that never send anything, then `omnid ctl status` and `press` from new
    /// ones: answered, the oldest silent connections having made room (16 used to lock every
    /// `omnid ctl` out).
    func testSilentConnectionsDoNotLockOutCtl() throws {
        let events = GPIOEventCollector<ButtonEvent>()
        let s = try server(events: events)
        defer { s.stop() }
        let silent = try (0..<20).map { _ in try ControlRawClient(path) }
        let status = try ControlClient.send(command: "status", socket: path)
        XCTAssertEqual(ApplianceStatus(json: status), sampleStatus, status)
        XCTAssertEqual(try ControlClient.send(command: "press", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 1), [.press])
        XCTAssertEqual(ControlClient.run(command: "status", socket: path).exitCode, 0)
        // The clock stood still, so "idle the longest" is the oldest: the first one went first.
        XCTAssertEqual(silent[0].readToEnd(), "error: connection closed to make room for a new one (at most 16)\n")
        XCTAssertEqual(silent[1].readToEnd(), "error: connection closed to make room for a new one (at most 16)\n")
        // The newest silent ones are still served.
        silent[19].write("tap\n")
        XCTAssertEqual(silent[19].readLine(), "ok")
    }

    /// When every connection waits for the controller, none is idle: the new one is told why
    /// and closed, and the waiting ones keep their place.
    func testNewConnectionRefusedWhenAllAreBusy() throws {
        let held = ControlHeldStatus()
        let s = try server(limits: ControlLimits(maxClients: 3), status: held.provider)
        defer { s.stop() }
        let busy = try (0..<3).map { _ in try ControlRawClient(path) }
        for c in busy { c.write("status\n") }
        XCTAssertTrue(held.wait(requests: 3))
        XCTAssertEqual(try ControlClient.send(command: "press", socket: path),
                       "error: too many control connections (at most 3), all busy; try again")
        held.answerAll(sampleStatus)
        for c in busy { XCTAssertEqual(c.readLine().flatMap(ApplianceStatus.init(json:)), sampleStatus) }
        // Now they are idle, so the next one gets in.
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")
    }

    func testOverlongLineGetsAnErrorAndIsClosed() throws {
        let s = try server()
        defer { s.stop() }
        let long = try ControlRawClient(path)
        long.write(String(repeating: "x", count: 300) + "\n")
        XCTAssertEqual(long.readToEnd(), "error: line too long (max 256 bytes)\n")
        // Without a newline at all: the server does not wait for one past the limit.
        let endless = try ControlRawClient(path)
        endless.write(String(repeating: "y", count: 257))
        XCTAssertEqual(endless.readToEnd(), "error: line too long (max 256 bytes)\n")
        // At the limit it is still a line (an unknown command), and the connection stays.
        let atLimit = try ControlRawClient(path)
        atLimit.write(String(repeating: " ", count: 251) + "tap\r\n")
        XCTAssertEqual(atLimit.readLine(), "ok")
        atLimit.write(String(repeating: "z", count: 256) + "\n")
        XCTAssertEqual(atLimit.readLine()?.hasPrefix("error: unknown command \"zzz"), true)
        atLimit.write("status\n")
        XCTAssertEqual(atLimit.readLine().flatMap(ApplianceStatus.init(json:)), sampleStatus)
    }

    func testIdleConnectionIsClosedAfterTheIdleTimeout() throws {
        let clock = ManualClock(.seconds(100))
        let s = try server(clock: clock)
        defer { s.stop() }
        let idle = try ControlRawClient(path)
        idle.write("tap\n")
        XCTAssertEqual(idle.readLine(), "ok")  // its last line at 100 s
        clock.advance(by: .seconds(4))
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")  // a round at 104 s
        idle.write("tap\n")
        XCTAssertEqual(idle.readLine(), "ok", "closed before its idle timeout")  // its last line at 104 s
        clock.advance(by: .seconds(5))
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")  // a round at 109 s
        XCTAssertEqual(idle.readToEnd(), "error: idle for 5 s; connection closed\n")
    }

    /// A connection that sent half a line and went quiet counts as idle too.
    func testHalfALineDoesNotKeepAConnectionOpen() throws {
        let clock = ManualClock()
        let s = try server(limits: ControlLimits(idleTimeout: .seconds(1)), clock: clock)
        defer { s.stop() }
        let half = try ControlRawClient(path)
        half.write("sta")
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")  // `half` is in
        clock.advance(by: .seconds(2))
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")
        XCTAssertEqual(half.readToEnd(), "error: idle for 1 s; connection closed\n")
    }

    func testStatusTheControllerDoesNotGiveInTimeIsAnError() throws {
        let clock = ManualClock()
        let held = ControlHeldStatus()
        let s = try server(clock: clock, status: held.provider)
        defer { s.stop() }
        let c = try ControlRawClient(path)
        c.write("status\n")
        XCTAssertTrue(held.wait(requests: 1))
        clock.advance(by: .seconds(3))
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")  // a round at 3 s
        XCTAssertEqual(c.readLine(), "error: no status from omnid's controller within 2 s (busy or shutting down)")
        // The late answer is dropped; the next request gets its own.
        c.write("status\n")
        XCTAssertTrue(held.wait(requests: 2))
        held.answer(0, ApplianceStatus(state: .error, mode: .vad, connection: "late"))
        held.answer(1, sampleStatus)
        XCTAssertEqual(c.readLine().flatMap(ApplianceStatus.init(json:)), sampleStatus)
    }

    /// Lines sent together are answered in order, a status waiting for the controller included.
    func testPipelinedLinesWaitForTheStatusBeforeThem() throws {
        let events = GPIOEventCollector<ButtonEvent>()
        let held = ControlHeldStatus()
        let s = try server(events: events, status: held.provider)
        defer { s.stop() }
        let c = try ControlRawClient(path)
        c.write("status\ntap\n")
        XCTAssertTrue(held.wait(requests: 1))
        XCTAssertEqual(events.all, [], "tap answered before the status in front of it")
        held.answerAll(sampleStatus)
        XCTAssertEqual(c.readLine().flatMap(ApplianceStatus.init(json:)), sampleStatus)
        XCTAssertEqual(c.readLine(), "ok")
        XCTAssertEqual(events.wait(count: 3), [.press, .release, .tap])
    }

    /// `echo status | socat - UNIX-CONNECT:…`: the client ends its input right after the line
    /// and still gets the answer.
    func testClientThatShutsDownItsSideStillGetsTheAnswer() throws {
        let s = try server()
        defer { s.stop() }
        let c = try ControlRawClient(path)
        c.write("status")
        shutdown(c.fd, Int32(SHUT_WR))
        let reply = c.readToEnd()
        XCTAssertEqual(reply.last, "\n")
        XCTAssertEqual(ApplianceStatus(json: String(reply.dropLast())), sampleStatus, reply)
    }

    /// Issue 15: with no client and no gesture pending, the control thread sleeps in poll(-1)
    /// instead of waking every second.
    func testPollTimeoutWaitsForeverWithoutADeadline() {
        let loop = ControlServerLoop(limits: ControlLimits(), gestures: GestureSettings(), clock: ManualClock(),
                                     logger: Logger(label: "test"), status: { $0(nil) },
                                     replies: ControlStatusReplies(wake: {}))
        XCTAssertNil(loop.nextDeadline)
        XCTAssertEqual(ioPollTimeout(until: nil, now: .seconds(5)), -1)
        XCTAssertEqual(ioPollTimeout(until: .seconds(4), now: .seconds(5)), 0)
        XCTAssertEqual(ioPollTimeout(until: .seconds(5) + .microseconds(1), now: .seconds(5)), 1)
        XCTAssertEqual(ioPollTimeout(until: .seconds(3605), now: .seconds(5)), 3_600_000)
        XCTAssertEqual(controlSecondsText(.seconds(5)), "5 s")
        XCTAssertEqual(controlSecondsText(.milliseconds(250)), "0.25 s")
    }
}
