#if canImport(Glibc)
import Glibc
#endif
import OmniCore
@testable import OmniWebSocket
import OmniLinux
@testable import OmniWebSocket
import Synchronization
import XCTest

// LWSClientTransport against LWSServer over loopback (ephemeral ports), both real libwebsockets.

final class WebSocketTransportTests: XCTestCase {
    private func url(_ port: Int, _ path: String = "/api-ws/v1/realtime?model=qwen-omni-turbo-realtime") -> String {
        "ws://127.0.0.1:\(port)\(path)"
    }

    /// A started server, a client connected to it, and the server-side connection id.
    private func connectedPair(
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> (probe: WSServerProbe, server: LWSServer, log: WSEventLog, client: LWSClientTransport, id: Int) {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        client.connect(ConnectRequest(url: url(port)))
        log.waitOpened(file: file, line: line)
        let id = try XCTUnwrap(probe.waitOpen(file: file, line: line), file: file, line: line)
        return (probe, server, log, client, id)
    }

    func testOpenSendsPathQueryAndHeadersAndCarriesTextBothWays() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        XCTAssertGreaterThan(port, 0)
        XCTAssertEqual(server.port, port)
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }

        client.connect(ConnectRequest(
            url: url(port), headers: [(name: "Authorization", value: "Bearer sk-test-123"), (name: "X-Trace", value: "t1")]))
        log.waitOpened()
        let id = try XCTUnwrap(probe.waitOpen())
        let upgrade = try XCTUnwrap(probe.upgrades.first)
        XCTAssertEqual(upgrade.id, id)
        XCTAssertEqual(upgrade.path, "/api-ws/v1/realtime")
        XCTAssertEqual(upgrade.query, "model=qwen-omni-turbo-realtime")
        XCTAssertEqual(upgrade.headers["authorization"], "Bearer sk-test-123")
        XCTAssertNil(upgrade.headers["sec-websocket-protocol"], "the client must not ask for a subprotocol")

        XCTAssertTrue(client.send(text: #"{"type":"session.update"}"#))
        XCTAssertTrue(wsEventually { probe.texts == [#"{"type":"session.update"}"#] })
        XCTAssertTrue(server.send(connectionID: id, text: "hello client"))
        log.wait(for: "text") { $0 == .text("hello client") }

        // 1 MiB each way: fragmented on the wire and reassembled on both sides.
        let big = String(repeating: "0123456789abcdef", count: 65_536)
        XCTAssertTrue(client.send(text: big))
        XCTAssertTrue(wsEventually { probe.texts.count == 2 })
        XCTAssertEqual(probe.texts.last?.utf8.count, big.utf8.count)
        XCTAssertTrue(probe.texts.last == big)
        XCTAssertTrue(server.send(connectionID: id, text: big))
        log.wait(for: "1 MiB text") { $0 == .text(big) }
        XCTAssertTrue(wsEventually { client.queuedMessages == 0 })

        // Empty and non-ASCII messages survive too.
        XCTAssertTrue(server.send(connectionID: id, text: ""))
        XCTAssertTrue(server.send(connectionID: id, text: "grüße 你好 🎙"))
        log.wait(for: "unicode text") { $0 == .text("grüße 你好 🎙") }
        XCTAssertEqual(log.count(.text("")), 1)
    }

    func testPingIsAnsweredWithPong() throws {
        let pair = try connectedPair()
        defer {
            pair.client.shutdown()
            pair.server.stop()
        }
        XCTAssertEqual(pair.log.count(.pong), 0)
        pair.client.ping()
        pair.log.wait(for: ".pong") { $0 == .pong }
    }

    func testRejectedUpgradeIsReportedAsHTTPStatus() throws {
        let probe = WSServerProbe()
        probe.setDecision(.reject(status: 401, body: "invalid api key"))
        let server = probe.makeServer()
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }

        client.connect(ConnectRequest(url: url(port), headers: [(name: "Authorization", value: "Bearer wrong")]))
        let end = log.waitEnd()
        XCTAssertEqual(end, .failed(.httpStatus(401)))
        if case .failed(let failure) = end { XCTAssertTrue(failure.isAuthFailure) }
        XCTAssertEqual(probe.upgrades.first?.headers["authorization"], "Bearer wrong")
        XCTAssertTrue(probe.opened.isEmpty)

        probe.setDecision(.reject(status: 403, body: "forbidden"))
        log.clear()
        client.connect(ConnectRequest(url: url(port)))
        XCTAssertEqual(log.waitEnd(), .failed(.httpStatus(403)))

        // Redirects are not followed (they would carry the key elsewhere): just a status.
        probe.setDecision(.reject(status: 302, body: "moved"))
        log.clear()
        client.connect(ConnectRequest(url: url(port)))
        XCTAssertEqual(log.waitEnd(), .failed(.httpStatus(302)))

        // And the same server accepts once the decision changes.
        probe.setDecision(.accept)
        log.clear()
        client.connect(ConnectRequest(url: url(port)))
        log.waitOpened()
    }

    func testServerCloseIsReportedAsClosedWithCodeAndReason() throws {
        let pair = try connectedPair()
        defer {
            pair.client.shutdown()
            pair.server.stop()
        }
        pair.server.close(connectionID: pair.id, code: 4001, reason: "session expired")
        XCTAssertEqual(pair.log.waitEnd(), .closed(code: 4001, reason: "session expired"))
        XCTAssertTrue(wsEventually { pair.probe.closed == [pair.id] })
        XCTAssertFalse(pair.client.send(text: "after close"), "no link, no sends")
    }

    func testClientCloseSendsCloseFrameAndReportsClosed() throws {
        let pair = try connectedPair()
        defer {
            pair.client.shutdown()
            pair.server.stop()
        }
        XCTAssertTrue(pair.client.send(text: "last words"))
        pair.client.close(code: 1000, reason: "bye")
        XCTAssertFalse(pair.client.send(text: "too late"))
        XCTAssertEqual(pair.log.waitEnd(), .closed(code: 1000, reason: "bye"))
        XCTAssertTrue(wsEventually { pair.probe.closed == [pair.id] })
        XCTAssertEqual(pair.probe.texts, ["last words"], "queued messages go out before the close frame")
    }

    func testServerResetIsReportedAsFailure() throws {
        let pair = try connectedPair()
        defer {
            pair.client.shutdown()
            pair.server.stop()
        }
        pair.server.reset(connectionID: pair.id)
        let end = try XCTUnwrap(pair.log.waitEnd())
        XCTAssertEqual(end, .failed(.connect("connection lost")))
        XCTAssertTrue(wsEventually { pair.probe.closed == [pair.id] })
    }

    func testAbortDropsSilently() throws {
        let pair = try connectedPair()
        defer {
            pair.client.shutdown()
            pair.server.stop()
        }
        pair.client.abort()
        XCTAssertTrue(wsEventually { pair.probe.closed == [pair.id] }, "server sees the connection go")
        XCTAssertEqual(pair.log.all, [.opened], "abort emits nothing")
        XCTAssertFalse(pair.client.send(text: "x"))
    }

    func testPlainWebSocketToRemoteHostIsRefusedLocally() throws {
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer { client.shutdown() }
        // TEST-NET-1: must be refused before any socket is opened.
        client.connect(ConnectRequest(url: "ws://192.0.2.1:8080/realtime"))
        let end = log.waitEnd()
        guard case .failed(.refused(let why))? = end else { return XCTFail("expected .refused, got \(String(describing: end))") }
        XCTAssertTrue(why.contains("192.0.2.1"), why)
        XCTAssertFalse(client.send(text: "x"))

        log.clear()
        client.connect(ConnectRequest(url: "http://127.0.0.1/"))
        guard case .failed(.refused)? = log.waitEnd() else { return XCTFail("non-ws scheme must be refused") }
    }

    func testConnectToClosedPortFailsWithConnect() throws {
        // Find a free port by binding one, then stop so nothing listens there.
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        server.stop()

        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer { client.shutdown() }
        client.connect(ConnectRequest(url: url(port)))
        let end = log.waitEnd()
        guard case .failed(.connect)? = end else { return XCTFail("expected .failed(.connect), got \(String(describing: end))") }
    }

    func testSilentServerTimesOut() throws {
        // A socket that listens but never accepts: TCP connects (kernel backlog), the upgrade
        // request is never answered.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                guard bind(fd, $0, length) == 0, listen(fd, 4) == 0, getsockname(fd, $0, &length) == 0 else {
                    throw WSTestFileError(path: "listen errno \(errno)")
                }
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))

        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), connectTimeoutSeconds: 2, onEvent: log.handler)
        defer { client.shutdown() }
        client.connect(ConnectRequest(url: url(port)))
        let end = log.waitEnd()
        guard case .failed(.connect(let why))? = end else {
            return XCTFail("expected .failed(.connect), got \(String(describing: end))")
        }
        XCTAssertTrue(why.contains("timed out"), why)
    }

    func testUnresolvableNameFailsWithDNS() throws {
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer { client.shutdown() }
        client.connect(ConnectRequest(url: "wss://nonexistent.invalid/api-ws/v1/realtime"))
        let end = log.waitEnd()
        guard case .failed(.dns)? = end else { return XCTFail("expected .failed(.dns), got \(String(describing: end))") }
    }

    func testReconnectAfterServerRestartOnSamePort() throws {
        let probe = WSServerProbe()
        let first = probe.makeServer()
        let port = try first.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer { client.shutdown() }

        client.connect(ConnectRequest(url: url(port)))
        log.waitOpened()
        first.stop()
        guard case .failed? = log.waitEnd() else { return XCTFail("server stop must end the link: \(log.all)") }

        let probe2 = WSServerProbe()
        let second = probe2.makeServer(port: port)
        XCTAssertEqual(try second.start(), port)
        defer { second.stop() }
        log.clear()
        client.connect(ConnectRequest(url: url(port)))
        log.waitOpened()
        let id = try XCTUnwrap(probe2.waitOpen())
        XCTAssertTrue(client.send(text: "again"))
        XCTAssertTrue(wsEventually { probe2.texts == ["again"] })
        XCTAssertTrue(second.send(connectionID: id, text: "welcome back"))
        log.wait(for: "text") { $0 == .text("welcome back") }
    }

    func testConnectWhileConnectedReplacesTheLink() throws {
        let pair = try connectedPair()
        defer {
            pair.client.shutdown()
            pair.server.stop()
        }
        pair.log.clear()
        pair.client.connect(ConnectRequest(url: url(pair.server.port)))
        pair.log.waitOpened()
        XCTAssertTrue(wsEventually { pair.probe.opened.count == 2 && pair.probe.closed == [pair.id] })
        XCTAssertEqual(pair.log.all, [.opened], "the old link goes silently")
        let newID = try XCTUnwrap(pair.probe.opened.last)
        XCTAssertTrue(pair.server.send(connectionID: newID, text: "on the new link"))
        pair.log.wait(for: "text") { $0 == .text("on the new link") }
    }

    func testOversizedIncomingMessageFailsTheLink() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        client.connect(ConnectRequest(url: url(port), maxMessageBytes: 1000))
        log.waitOpened()
        let id = try XCTUnwrap(probe.waitOpen())
        XCTAssertTrue(server.send(connectionID: id, text: String(repeating: "x", count: 1000)))
        log.wait(for: "1000-byte text") { $0 == .text(String(repeating: "x", count: 1000)) }
        XCTAssertTrue(server.send(connectionID: id, text: String(repeating: "y", count: 5000)))
        XCTAssertEqual(log.waitEnd(), .failed(.protocolError("message too large")))
        XCTAssertTrue(wsEventually { probe.closed == [id] })
        XCTAssertEqual(log.all.filter { if case .failed = $0 { true } else { false } }.count, 1)
    }

    func testSendQueueIsBoundedAndSignalsWritable() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        XCTAssertFalse(client.send(text: "before connect"), "nothing to send on")
        client.connect(ConnectRequest(url: url(port)))
        // Still connecting: messages queue up to the capacity, then send refuses.
        var accepted = 0
        while client.send(text: "m\(accepted)") { accepted += 1 }
        XCTAssertGreaterThanOrEqual(accepted, LWSClientTransport.sendQueueCapacity / 2)
        XCTAssertLessThanOrEqual(accepted, LWSClientTransport.sendQueueCapacity)
        log.waitOpened()
        log.wait(for: ".writable") { $0 == .writable }
        XCTAssertTrue(wsEventually { probe.texts.count == accepted })
        XCTAssertEqual(probe.texts, (0..<accepted).map { "m\($0)" }, "in order, none lost")
        XCTAssertEqual(client.queuedMessages, 0)
    }

    func testSeveralClientsAtOnce() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let logs = (0..<3).map { _ in WSEventLog() }
        let clients = logs.map { LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: $0.handler) }
        defer { clients.forEach { $0.shutdown() } }
        for client in clients { client.connect(ConnectRequest(url: url(port))) }
        for log in logs { log.waitOpened() }
        XCTAssertNotNil(probe.waitOpen(count: 3))
        XCTAssertEqual(Set(probe.opened).count, 3)
        for (index, client) in clients.enumerated() { XCTAssertTrue(client.send(text: "from \(index)")) }
        XCTAssertTrue(wsEventually { probe.texts.count == 3 })
        XCTAssertEqual(Set(probe.texts), ["from 0", "from 1", "from 2"])
        for id in probe.opened { XCTAssertTrue(server.send(connectionID: id, text: "to \(id)")) }
        for log in logs { log.wait(for: "text") { if case .text(let t) = $0 { t.hasPrefix("to ") } else { false } } }
        XCTAssertEqual(server.openConnections.count, 3)
    }

    func testTLSWithPrivateCAAndVerificationFailureWithout() throws {
        let files = try WSTestCertificate.write()
        defer { WSTestCertificate.remove(files) }
        let probe = WSServerProbe()
        let server = probe.makeServer(tls: files)
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }

        // The system store does not know this self-signed certificate.
        client.connect(ConnectRequest(url: "wss://127.0.0.1:\(port)/realtime"))
        let end = log.waitEnd()
        guard case .failed(.tls)? = end else { return XCTFail("expected .failed(.tls), got \(String(describing: end))") }

        log.clear()
        client.connect(ConnectRequest(url: "wss://127.0.0.1:\(port)/realtime", caFile: files.cert))
        log.waitOpened()
        let id = try XCTUnwrap(probe.waitOpen())
        XCTAssertTrue(server.send(connectionID: id, text: "over tls"))
        log.wait(for: "text") { $0 == .text("over tls") }

        log.clear()
        client.connect(ConnectRequest(url: "wss://127.0.0.1:\(port)/realtime", caFile: "/nonexistent/ca.pem"))
        guard case .failed(.tls)? = log.waitEnd() else { return XCTFail("unreadable CA file must fail as TLS") }
    }

    func testReleasingTheTransportStopsItsThread() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        do {
            let log = WSEventLog()
            let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
            client.connect(ConnectRequest(url: url(port)))
            log.waitOpened()
        }  // deinit: shutdown without an explicit call
        XCTAssertTrue(wsEventually { probe.closed.count == 1 })
    }

    func testShutdownFromInsideTheEventHandler() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let box = Mutex<LWSClientTransport?>(nil)
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client")) { event in
            log.handler(event)
            // Runs on the service thread: shutdown must not try to join itself.
            if event == .opened { box.withLock { $0 }?.shutdown() }
        }
        box.withLock { $0 = client }
        client.connect(ConnectRequest(url: url(port)))
        log.waitOpened()
        XCTAssertTrue(wsEventually { probe.closed.count == 1 })
        client.connect(ConnectRequest(url: url(port)))
        XCTAssertEqual(log.all.last, .failed(.connect("transport shut down")))
        box.withLock { $0 = nil }
    }

    func testShutdownIsIdempotentAndLaterConnectFails() throws {
        let pair = try connectedPair()
        defer { pair.server.stop() }
        pair.client.shutdown()
        XCTAssertTrue(wsEventually { pair.probe.closed == [pair.id] })
        pair.client.shutdown()
        pair.log.clear()
        pair.client.connect(ConnectRequest(url: url(pair.server.port)))
        XCTAssertEqual(pair.log.all, [.failed(.connect("transport shut down"))])
    }
}
