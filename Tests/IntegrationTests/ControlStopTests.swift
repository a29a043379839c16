#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import OmniCore
@testable import OmniLinux
import Synchronization
import XCTest

/// stop() with clients mid-request (issue 16: shutdown, on the controller's queue, joined the
/// control thread while that thread waited for the controller to answer a status request).
final class ControlStopTests: XCTestCase {
    let tmp = ControlTempDir()
    var path: String { "\(tmp.path)/c.sock" }

    /// The controller never answers (it is busy shutting down): stop() still returns, and the
    /// waiting clients see the connection closed.
    func testStopReturnsWhileStatusRequestsAreUnanswered() throws {
        let held = ControlHeldStatus()
        let s = try ControlServer(path: path, onButton: { _ in }, status: held.provider)
        try s.start()
        let clients = try (0..<8).map { _ in try ControlRawClient(path) }
        for c in clients { c.write("status\n") }
        XCTAssertTrue(held.wait(requests: 8))
        XCTAssertTrue(controlReturns { s.stop() }, "stop() hangs while status requests are out")
        for (i, c) in clients.enumerated() { XCTAssertEqual(c.readToEnd(), "", "client \(i)") }
        XCTAssertNotEqual(access(path, F_OK), 0, "socket file left behind")
        // Answers after the stop go nowhere (and do not crash).
        held.answerAll(nil)
    }

    /// As in the daemon: the status is made on a serial controller queue, and stop() is called
    /// on that same queue while eight clients poll `status` as fast as they can.
    func testStopOnTheControllerQueueWhileClientsPoll() throws {
        let controller = DispatchQueue(label: "test.controller")
        let status = ApplianceStatus(state: .ready, mode: .pushToTalk, connection: "ready")
        let s = try ControlServer(path: path, onButton: { _ in },
                                  status: { reply in controller.async { reply(status) } })
        try s.start()
        let pollers = ControlPollers(count: 8, socket: path)
        XCTAssertTrue(pollers.waitForAnswers(64), "clients got no answers")
        XCTAssertTrue(controlReturns { controller.sync { s.stop() } }, "stop() on the controller queue hangs")
        pollers.finish()
    }

    /// stop() from the control thread itself (a button callback) must not join itself.
    func testStopFromTheControlThread() throws {
        final class Box: Sendable { let server = Mutex<ControlServer?>(nil) }
        let box = Box()
        let stopped = DispatchSemaphore(value: 0)
        let s = try ControlServer(path: path, onButton: { _ in
            box.server.withLock { $0 }?.stop()
            stopped.signal()
        }, status: { $0(nil) })
        box.server.withLock { $0 = s }
        try s.start()
        _ = try? ControlClient.send(command: "tap", socket: path, timeout: .seconds(2))
        XCTAssertEqual(stopped.wait(timeout: .now() + .seconds(10)), .success)
        box.server.withLock { $0 = nil }
    }

    func testStopTwiceAndBeforeStart() throws {
        let unstarted = try ControlServer(path: "\(tmp.path)/never.sock", onButton: { _ in }, status: { $0(nil) })
        unstarted.stop()
        let s = try ControlServer(path: path, onButton: { _ in }, status: { $0(nil) })
        try s.start()
        s.stop()
        s.stop()
        XCTAssertNotEqual(access(path, F_OK), 0)
    }
}

/// Clients that ask for the status in a loop until told to finish, each on a thread of its own
/// (Dispatch's pool would run only a few of these blocking loops on a 2-core machine).
final class ControlPollers: Sendable {
    private let stop = Atomic<Bool>(false)
    private let answered = Atomic<Int>(0)
    private let group = DispatchGroup()

    init(count: Int, socket: String) {
        for _ in 0..<count {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                while !stop.load(ordering: .acquiring) {
                    if (try? ControlClient.send(command: "status", socket: socket, timeout: .seconds(2)))?.hasPrefix("{") == true {
                        answered.wrappingAdd(1, ordering: .relaxed)
                    } else {
                        usleep(2000)  // the server is gone or not there yet: do not hog the cores
                    }
                }
            }
        }
    }

    var answers: Int { answered.load(ordering: .relaxed) }

    /// Waits (on events, with a hang guard) until `n` answers came in.
    func waitForAnswers(_ n: Int, hangGuard: Duration = .seconds(20)) -> Bool {
        let clock = SystemMonotonicClock()
        let end = clock.now() + hangGuard
        while answers < n {
            if clock.now() > end { return false }
            usleep(1000)
        }
        return true
    }

    func finish() {
        stop.store(true, ordering: .releasing)
        group.wait()
    }
}
