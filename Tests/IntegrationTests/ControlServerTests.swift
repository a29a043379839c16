#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import OmniCore
@testable import OmniLinux
import Synchronization
import OmniSystem
import XCTest

/// The control socket end to end: a real server on a Unix socket in a temporary directory, and
/// the client `omnid ctl` uses.
final class ControlServerTests: XCTestCase {
    var dir = ""

    override func setUp() {
        var template = Array("/tmp/omnid-ctl-XXXXXX".utf8CString)
        dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    override func tearDown() {
        if let d = opendir(dir) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink("\(dir)/\(name)") }
            }
            closedir(d)
        }
        rmdir(dir)
    }

    let sampleStatus = ApplianceStatus(state: .ready, mode: .pushToTalk, connection: "ready",
                                       lastTurn: ApplianceTurnLatencies(releaseToCommit: .microseconds(400),
                                                                        commitToFirstDelta: .milliseconds(512),
                                                                        firstDeltaToFirstSample: .milliseconds(61)))

    func server(_ path: String, events: GPIOEventCollector<ButtonEvent>,
                gestures: GestureSettings = GestureSettings(longPress: .milliseconds(300))) throws -> ControlServer {
        let status = sampleStatus
        let s = try ControlServer(path: path, gestures: gestures, onButton: { events.add($0.event) }, status: { $0(status) })
        try s.start()
        return s
    }

    func mode(_ path: String) -> UInt32 {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        return UInt32(st.st_mode & 0o7777)
    }

    func testButtonCommands() throws {
        let path = "\(dir)/control.sock"
        let events = GPIOEventCollector<ButtonEvent>()
        let s = try server(path, events: events)
        defer { s.stop() }
        XCTAssertEqual(try ControlClient.send(command: "press", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 1), [.press])
        XCTAssertEqual(try ControlClient.send(command: "release", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 3), [.press, .release, .tap])
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 6), [.press, .release, .tap, .press, .release, .tap])
        XCTAssertEqual(try ControlClient.send(command: "long-press", socket: path), "ok")
        XCTAssertEqual(try ControlClient.send(command: "double_press", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 8).suffix(2), [.longPress, .doublePress])
    }

    func testHeldPressBecomesALongPress() throws {
        let path = "\(dir)/c.sock"
        let events = GPIOEventCollector<ButtonEvent>()
        let s = try server(path, events: events)
        defer { s.stop() }
        XCTAssertEqual(try ControlClient.send(command: "press", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 2), [.press, .longPress])
        XCTAssertEqual(try ControlClient.send(command: "release", socket: path), "ok")
        XCTAssertEqual(events.wait(count: 3), [.press, .longPress, .release])
    }

    func testStatusAsJSONAndText() throws {
        let path = "\(dir)/c.sock"
        let s = try server(path, events: GPIOEventCollector())
        defer { s.stop() }
        let json = try ControlClient.send(command: "status", socket: path)
        XCTAssertTrue(json.hasPrefix("{\"state\":\"ready\""), json)
        XCTAssertEqual(ApplianceStatus(json: json), sampleStatus)
        let raw = ControlClient.run(command: "status", socket: path, json: true)
        XCTAssertEqual(raw.exitCode, 0)
        XCTAssertEqual(raw.output, json)
        let text = ControlClient.run(command: "status", socket: path)
        XCTAssertEqual(text.exitCode, 0)
        XCTAssertTrue(text.output.contains("state:       ready"), text.output)
        XCTAssertTrue(text.output.contains("commit→first delta 512 ms"), text.output)
    }

    func testSocketModeAndStaleSocket() throws {
        let path = "\(dir)/c.sock"
        // A stale socket file: bound once, its owner gone.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let addr = try XCTUnwrap(UnixSocketAddress(path))
        XCTAssertEqual(addr.withSockaddr { bind(fd, $0, $1) }, 0)
        close(fd)
        XCTAssertEqual(ControlClient.run(command: "status", socket: path).output,
                       "omnid ctl: nothing is listening on \(path): omnid is not running (the socket file is stale)")
        let s = try server(path, events: GPIOEventCollector())
        XCTAssertEqual(mode(path), 0o660)
        XCTAssertEqual(try ControlClient.send(command: "status", socket: path).prefix(1), "{")
        // A second server on the same path refuses to steal it.
        XCTAssertThrowsError(try server(path, events: GPIOEventCollector())) { e in
            XCTAssertEqual("\(e)", "[control] socket \(path): another omnid is already listening there")
        }
        XCTAssertEqual(try ControlClient.send(command: "status", socket: path).prefix(1), "{")
        s.stop()
        XCTAssertNotEqual(access(path, F_OK), 0, "socket file left behind")
    }

    func testErrors() throws {
        let path = "\(dir)/c.sock"
        XCTAssertEqual(ControlClient.run(command: "press", socket: path).output,
                       "omnid ctl: no control socket at \(path): is omnid running? (the path is [control] socket in its config; pass --socket PATH)")
        XCTAssertEqual(ControlClient.run(command: "press", socket: path).exitCode, 1)
        let s = try server(path, events: GPIOEventCollector())
        defer { s.stop() }
        XCTAssertEqual(try ControlClient.send(command: "explode", socket: path),
                       "error: unknown command \"explode\"; use press, release, tap, long-press, double-press, status")
        XCTAssertEqual(ControlClient.run(command: "explode", socket: path).exitCode, 1)
        // The connection-level protocol: several commands on one connection, one reply each.
        XCTAssertEqual(try ControlClient.send(command: "tap", socket: path), "ok")
        XCTAssertThrowsError(try ControlServer(path: "\(dir)/missing/c.sock", onButton: { _ in }, status: { $0(nil) }).start()) { e in
            XCTAssertTrue("\(e)".contains("directory \(dir)/missing does not exist"), "\(e)")
        }
        let long = dir + "/" + String(repeating: "x", count: 120)
        XCTAssertThrowsError(try ControlServer(path: long, onButton: { _ in }, status: { $0(nil) }).start()) { e in
            XCTAssertTrue("\(e)".contains("too long"), "\(e)")
        }
        let file = "\(dir)/plain"
        close(open(file, O_CREAT | O_WRONLY, 0o600))
        XCTAssertThrowsError(try ControlServer(path: file, onButton: { _ in }, status: { $0(nil) }).start()) { e in
            XCTAssertTrue("\(e)".contains("exists and is not a socket"), "\(e)")
        }
    }

    func testStatusNotAvailable() throws {
        let path = "\(dir)/c.sock"
        let s = try ControlServer(path: path, onButton: { _ in }, status: { $0(nil) })
        try s.start()
        defer { s.stop() }
        XCTAssertEqual(ControlClient.run(command: "status", socket: path).output, "omnid ctl: status not available yet")
    }

    func testManyCommandsOnOneConnectionAndManyClients() throws {
        let path = "\(dir)/c.sock"
        let events = GPIOEventCollector<ButtonEvent>()
        let s = try server(path, events: events)
        defer { s.stop() }
        // Raw connection: two commands in one write.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let addr = try XCTUnwrap(UnixSocketAddress(path))
        XCTAssertEqual(addr.withSockaddr { connect(fd, $0, $1) }, 0)
        let req = Array("press\nrelease\n".utf8)
        XCTAssertEqual(req.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, req.count)
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 64)
        while got.filter({ $0 == 10 }).count < 2 {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            got += buf[0..<n]
        }
        XCTAssertEqual(String(decoding: got, as: UTF8.self), "ok\nok\n")
        // Clients in parallel.
        let results = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let r = (try? ControlClient.send(command: "status", socket: path)) ?? "failed"
            results.withLock { $0.append(String(r.prefix(10))) }
        }
        XCTAssertEqual(results.withLock { $0 }, Array(repeating: "{\"state\":\"", count: 8))
    }
}

/// The machine's timers on the controller loop.
final class ControlTimerDriverTests: XCTestCase {
    func testTimersFireAndCancel() {
        let queue = ControllerLoop(label: "test.timers")
        defer { queue.stop() }
        let fired = GPIOEventCollector<ApplianceTimer>()
        let driver = ApplianceTimerDriver(loop: queue) { fired.add($0) }
        queue.sync {
            driver.apply([.startTimer(ApplianceTimer(.response, generation: 1), after: .milliseconds(30)),
                          .startTimer(ApplianceTimer(.maxTurn, generation: 2), after: .milliseconds(20)),
                          .startTimer(ApplianceTimer(.drain, generation: 3), after: .milliseconds(40)),
                          .cancelTimer(.drain)])
            // Re-arming replaces the earlier timer of the same kind.
            driver.start(ApplianceTimer(.response, generation: 4), after: .milliseconds(60))
        }
        XCTAssertEqual(fired.wait(count: 2),
                       [ApplianceTimer(.maxTurn, generation: 2), ApplianceTimer(.response, generation: 4)])
        // Nothing else fires: a last timer, due after everything above, comes next.
        queue.sync { driver.start(ApplianceTimer(.drain, generation: 5), after: .milliseconds(10)) }
        XCTAssertEqual(fired.wait(count: 3),
                       [ApplianceTimer(.maxTurn, generation: 2), ApplianceTimer(.response, generation: 4),
                        ApplianceTimer(.drain, generation: 5)])
        queue.sync { driver.cancelAll() }
    }

    /// The machine and the driver together: a too-long turn is committed by the real timer.
    func testMachineTimerRoundTrip() {
        let queue = ControllerLoop(label: "test.machine")
        defer { queue.stop() }
        let out = GPIOEventCollector<ApplianceAction>()
        final class Box: @unchecked Sendable {
            var machine = ApplianceMachine(settings: ApplianceSettings(maxTurn: .milliseconds(300)))
            var driver: ApplianceTimerDriver?
        }
        let box = Box()
        let clock = SystemMonotonicClock()
        @Sendable func handle(_ e: ApplianceEvent) {
            let actions = box.machine.handle(e, at: clock.now())
            for a in actions { out.add(a) }
            box.driver?.apply(actions)
        }
        queue.sync {
            box.driver = ApplianceTimerDriver(loop: queue) { handle(.timer($0)) }
            handle(.linkReady)
            handle(.button(.press))
        }
        XCTAssertTrue(out.wait { $0.contains(.commit) }.contains(.commit), "\(out.all)")
        queue.sync { XCTAssertEqual(box.machine.state, .thinking) }
        queue.sync { box.driver?.cancelAll() }
    }
}
