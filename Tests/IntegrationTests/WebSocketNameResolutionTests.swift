#if canImport(Glibc)
import Glibc
#endif
import Foundation
import OmniCore
@testable import OmniWebSocket
import Synchronization
import XCTest

/// The client looks names up on a resolver thread of its own and hands libwebsockets the numeric
/// address (LWSResolver): the host name must still be what the server's certificate is checked
/// against and what the Host header says; a refused address must lead to the next one; and a
/// lookup that never ends must hold up neither other work nor shutdown. Names here resolve
/// through a stand-in for getaddrinfo (`lookUp`), so no DNS is involved.
final class WebSocketNameResolutionTests: XCTestCase {
    /// A stand-in resolver: fixed answers, and a count of the lookups made.
    final class Names: Sendable {
        let table: [String: [String]]
        let lookups = Mutex<[String]>([])
        init(_ table: [String: [String]]) { self.table = table }

        var lookUp: @Sendable (String) -> LWSResolver.Outcome {
            { [self] host in
                lookups.withLock { $0.append(host) }
                return table[host].map { .addresses($0) } ?? .failed("Name or service not known")
            }
        }
    }

    func testTLSIsVerifiedAgainstTheHostNameNotTheAddress() throws {
        let names = Names(["omni-test.example": ["127.0.0.1"]])
        // A certificate for the name only: verifying it against the address it came from would fail.
        let byName = try WSTestCertificate.write(subjectAltName: "DNS:omni-test.example")
        defer { WSTestCertificate.remove(byName) }
        let probe = WSServerProbe()
        let server = probe.makeServer(tls: byName)
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), lookUp: names.lookUp, onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        client.connect(ConnectRequest(url: "wss://omni-test.example:\(port)/realtime", caFile: byName.cert))
        log.waitOpened()
        XCTAssertEqual(probe.upgrades.first?.headers["host"], "omni-test.example:\(port)")
        XCTAssertEqual(names.lookups.withLock { $0 }, ["omni-test.example"])
    }

    func testACertificateForTheAddressOnlyDoesNotPassForTheName() throws {
        let names = Names(["omni-test.example": ["127.0.0.1"]])
        let byAddress = try WSTestCertificate.write(subjectAltName: "IP:127.0.0.1")
        defer { WSTestCertificate.remove(byAddress) }
        let probe = WSServerProbe()
        let server = probe.makeServer(tls: byAddress)
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), lookUp: names.lookUp, onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        client.connect(ConnectRequest(url: "wss://omni-test.example:\(port)/realtime", caFile: byAddress.cert))
        let end = log.waitEnd()
        guard case .failed(.tls)? = end else { return XCTFail("expected .failed(.tls), got \(String(describing: end))") }
        XCTAssertTrue(probe.opened.isEmpty)
        // The same certificate is good for the address itself (no lookup then).
        log.clear()
        client.connect(ConnectRequest(url: "wss://127.0.0.1:\(port)/realtime", caFile: byAddress.cert))
        log.waitOpened()
        XCTAssertEqual(names.lookups.withLock { $0 }, ["omni-test.example"])
    }

    /// The server listens on 127.0.0.1 only, so 127.0.0.2 refuses: the next address is tried,
    /// within the same connect (one `.opened`, no failure reported).
    func testARefusingAddressIsFollowedByTheNext() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let names = Names(["two.localhost": ["127.0.0.2", "127.0.0.1"], "dead.localhost": ["127.0.0.2", "127.0.0.3"]])
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), lookUp: names.lookUp, onEvent: log.handler)
        defer { client.shutdown() }
        client.connect(ConnectRequest(url: "ws://two.localhost:\(port)/realtime"))
        log.waitOpened()
        XCTAssertFalse(log.all.contains { if case .failed = $0 { true } else { false } }, "\(log.all)")
        XCTAssertNotNil(probe.waitOpen())

        log.clear()
        client.connect(ConnectRequest(url: "ws://dead.localhost:\(port)/realtime"))
        let end = log.waitEnd()
        guard case .failed(.connect)? = end else { return XCTFail("expected .failed(.connect), got \(String(describing: end))") }
        XCTAssertEqual(log.all.filter { if case .failed = $0 { true } else { false } }.count, 1, "one failure for the connect")
    }

    func testAFailedLookupIsReportedAsDNS() throws {
        let names = Names([:])
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), lookUp: names.lookUp, onEvent: log.handler)
        defer { client.shutdown() }
        client.connect(ConnectRequest(url: "wss://nowhere.example/realtime"))
        guard case .failed(.dns(let why))? = log.waitEnd() else { return XCTFail("expected .failed(.dns): \(log.all)") }
        XCTAssertTrue(why.hasPrefix("nowhere.example: "), why)
    }

    /// A lookup that does not end until released, counting how many were started.
    final class Gate: Sendable {
        let entered = Atomic<Int>(0)
        private let semaphore = DispatchSemaphore(value: 0)
        func release(_ n: Int) { for _ in 0..<n { semaphore.signal() } }

        var lookUp: @Sendable (String) -> LWSResolver.Outcome {
            { [self] _ in
                entered.add(1, ordering: .relaxed)
                semaphore.wait()
                return .addresses(["127.0.0.1"])
            }
        }
    }

    /// A second connect to a name whose lookup is still under way waits for that lookup rather
    /// than starting another thread; the answer serves the newest link.
    func testALinkWaitsForTheLookupAlreadyUnderWay() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let gate = Gate()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), lookUp: gate.lookUp, onEvent: log.handler)
        defer { client.shutdown() }
        client.connect(ConnectRequest(url: "ws://slow.localhost:\(port)/first"))
        XCTAssertTrue(wsEventually { gate.entered.load(ordering: .relaxed) == 1 })
        client.connect(ConnectRequest(url: "ws://slow.localhost:\(port)/second"))
        gate.release(1)
        log.waitOpened()
        XCTAssertEqual(gate.entered.load(ordering: .relaxed), 1, "one lookup for both connects")
        XCTAssertEqual(probe.upgrades.map(\.path), ["/second"])
    }

    /// Shutdown while the lookup hangs: it returns without waiting for the resolver thread, and
    /// the lookup's late answer goes nowhere.
    func testShutdownDoesNotWaitForAHangingLookup() throws {
        let gate = Gate()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), lookUp: gate.lookUp, onEvent: log.handler)
        client.connect(ConnectRequest(url: "ws://hangs.localhost:1/realtime"))
        XCTAssertTrue(wsEventually { gate.entered.load(ordering: .relaxed) == 1 })
        let finished = Atomic<Bool>(false)
        let stopper = Thread {
            client.shutdown()
            finished.store(true, ordering: .releasing)
        }
        stopper.start()
        XCTAssertTrue(wsEventually { finished.load(ordering: .acquiring) }, "shutdown waited for the lookup")
        gate.release(1)
        XCTAssertTrue(log.all.isEmpty, "\(log.all)")
    }
}
