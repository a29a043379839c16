#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import OmniCore
import OmniLinux
import OmniSystem
@testable import OmniWebSocket
import Synchronization
import XCTest

/// The controller's loop (OmniSystem.EventLoop): posted work in order, timers, and the
/// websocket client hosted on it (its sleep is lws' poll; LWSClientEngine+Hosted.swift).
final class EventLoopTests: XCTestCase {
    func testPostedWorkRunsInOrderOnTheLoopsThread() throws {
        let loop = try EventLoop(name: "test.loop")
        defer { loop.stop() }
        let seen = Mutex<[Int]>([])
        let onLoop = Mutex<Bool>(true)
        for i in 0..<100 {
            loop.post {
                if !loop.isCurrent { onLoop.withLock { $0 = false } }
                seen.withLock { $0.append(i) }
            }
        }
        XCTAssertTrue(wsEventually { seen.withLock { $0.count } == 100 })
        XCTAssertEqual(seen.withLock { $0 }, Array(0..<100))
        XCTAssertTrue(onLoop.withLock { $0 })
        XCTAssertFalse(loop.isCurrent)
    }

    /// Timers fire in deadline order, a cancelled one never; a timer may set another.
    func testTimersFireInOrderAndCancelledOnesDoNot() throws {
        let loop = try EventLoop(name: "test.timers")
        defer { loop.stop() }
        let fired = Mutex<[String]>([])
        loop.post {
            let now = EventLoop.now()
            _ = loop.schedule(at: now + 30_000_000) { fired.withLock { $0.append("30") } }
            _ = loop.schedule(at: now + 10_000_000) {
                fired.withLock { $0.append("10") }
                _ = loop.schedule(at: EventLoop.now() + 5_000_000) { fired.withLock { $0.append("10+5") } }
            }
            let cancelled = loop.schedule(at: now + 20_000_000) { fired.withLock { $0.append("20") } }
            loop.cancel(cancelled)
            _ = loop.schedule(at: now + 40_000_000) { fired.withLock { $0.append("40") } }
        }
        XCTAssertTrue(wsEventually { fired.withLock { $0.count } == 4 })
        XCTAssertEqual(fired.withLock { $0 }, ["10", "10+5", "30", "40"])
    }

    /// The websocket client on the loop: messages both ways, a timer that fires while the loop
    /// sleeps in lws' poll, work posted from another thread that ends that sleep, and shutdown
    /// (the loop goes back to its own sleep and keeps running).
    func testHostedClientCarriesMessagesTimersAndPostsOnTheLoopsThread() throws {
        let offLoop = Mutex(0)
        let (probe, server, loop, log, client) = try hostedClient("test.hosted") { loop in
            if !loop.isCurrent { offLoop.withLock { $0 += 1 } }
        }
        let id = try XCTUnwrap(probe.waitOpen())

        // Sent from the loop's thread (no wake-up needed) and from another one.
        loop.post { _ = client.send(text: "from the loop") }
        XCTAssertTrue(client.send(text: "from the test"))
        XCTAssertTrue(wsEventually { Set(probe.texts) == ["from the loop", "from the test"] })
        XCTAssertTrue(server.send(connectionID: id, text: "hello"))
        log.wait(for: "text") { $0 == .text("hello") }
        XCTAssertEqual(offLoop.withLock { $0 }, 0, "events are delivered on the loop's thread")

        // A timer while the loop sleeps in lws_service, and a post that wakes it.
        let fired = Mutex(false)
        loop.post { _ = loop.schedule(at: EventLoop.now() + 30_000_000) { fired.withLock { $0 = true } } }
        XCTAssertTrue(wsEventually { fired.withLock { $0 } }, "a timer on the hosting loop fires")
        let posted = Mutex(false)
        loop.post { posted.withLock { $0 = true } }
        XCTAssertTrue(wsEventually { posted.withLock { $0 } })

        // Shut down from another thread: returns once the engine has left the loop.
        client.shutdown()
        XCTAssertTrue(wsEventually { probe.closed.count == 1 })
        let after = Mutex(false)
        loop.post { _ = loop.schedule(at: EventLoop.now() + 5_000_000) { after.withLock { $0 = true } } }
        XCTAssertTrue(wsEventually { after.withLock { $0 } }, "the loop runs on after the client left")
    }

    /// Shut down from the loop's own thread (as SessionHost does): it cannot wait for itself, so
    /// the engine leaves at the loop's next pass; a later connect fails at once.
    func testHostedClientShutdownFromTheLoop() throws {
        let (probe, server, loop, log, client) = try hostedClient("test.hosted2")
        let port = server.port
        XCTAssertNotNil(probe.waitOpen())
        let done = Mutex(false)
        loop.post {
            client.shutdown()
            done.withLock { $0 = true }
        }
        XCTAssertTrue(wsEventually { done.withLock { $0 } })
        XCTAssertTrue(wsEventually { probe.closed.count == 1 }, "the link is closed")
        client.connect(ConnectRequest(url: hostedClientURL(port)))
        log.wait(for: "refused connect") { if case .failed = $0 { return true } else { return false } }
    }
}

/// Descriptors the loop watches (the audio engine's eventfd in omnid), on its own poll and on
/// libwebsockets' while the websocket client is hosted there.
final class EventLoopWatchTests: XCTestCase {
    func watchRoundTrip(_ loop: EventLoop, file: StaticString = #filePath, line: UInt = #line) {
        let fd = omni_eventfd()
        defer { close(fd) }
        let hits = Mutex(0)
        let watch = Mutex<EventLoop.Watch?>(nil)
        loop.post {
            let w = loop.watch(fd) {
                var n: UInt64 = 0
                _ = read(fd, &n, 8)
                hits.withLock { $0 += 1 }
            }
            watch.withLock { $0 = w }
        }
        XCTAssertTrue(wsEventually { watch.withLock { $0 } != nil }, file: file, line: line)
        for i in 1...3 {
            var one: UInt64 = 1
            _ = write(fd, &one, 8)
            XCTAssertTrue(wsEventually { hits.withLock { $0 } == i }, "write \(i)", file: file, line: line)
        }
        let unwatched = Mutex(false)
        loop.post {
            if let w = watch.withLock({ $0 }) { loop.unwatch(w) }
            unwatched.withLock { $0 = true }
        }
        XCTAssertTrue(wsEventually { unwatched.withLock { $0 } }, file: file, line: line)
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
        let marker = Mutex(false)
        loop.post { _ = loop.schedule(at: EventLoop.now() + 20_000_000) { marker.withLock { $0 = true } } }
        XCTAssertTrue(wsEventually { marker.withLock { $0 } }, file: file, line: line)
        XCTAssertEqual(hits.withLock { $0 }, 3, "no call after unwatch", file: file, line: line)
    }

    func testWatchOnTheLoopsOwnPoll() throws {
        let loop = try EventLoop(name: "test.watch")
        defer { loop.stop() }
        watchRoundTrip(loop)
    }

    func testWatchWhileTheWebSocketClientIsHosted() throws {
        let (_, _, loop, _, client) = try hostedClient("test.watchws")
        defer { client.shutdown() }
        watchRoundTrip(loop)
    }
}

extension XCTestCase {
    /// A websocket test server and a client hosted on a new event loop named `name`, connected
    /// and open; the loop and the server stop when the test ends (the client is the test's to
    /// shut down). `observe` sees the loop as each event is delivered, before the log does.
    func hostedClient(_ name: String, observe: (@Sendable (EventLoop) -> Void)? = nil) throws
        -> (probe: WSServerProbe, server: LWSServer, loop: EventLoop, log: WSEventLog, client: LWSClientTransport) {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        addTeardownBlock { server.stop() }
        let loop = try EventLoop(name: name)
        addTeardownBlock { loop.stop() }
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-hosted"), host: loop) { event in
            observe?(loop)
            log.handler(event)
        }
        client.connect(ConnectRequest(url: hostedClientURL(port)))
        log.waitOpened()
        return (probe, server, loop, log, client)
    }
}

func hostedClientURL(_ port: Int) -> String { "ws://127.0.0.1:\(port)/api-ws/v1/realtime?model=m" }
