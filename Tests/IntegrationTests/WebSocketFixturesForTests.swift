#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import OmniCore
@testable import OmniWebSocket
import OmniLinux
@testable import OmniWebSocket
import Synchronization
import XCTest

// Fixtures for the libwebsockets client/server tests (WebSocket*Tests.swift): event recorders,
// polling waits and a test certificate. Waits are hang guards (TestGuard.seconds); nothing
// asserts on timing.

func wsTestLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .notice
    return logger
}

/// Polls `condition` until true (the timeout is a hang guard).
func wsEventually(timeout: Double = TestGuard.seconds, _ condition: () -> Bool) -> Bool {
    eventually(timeout: timeout, pollMicros: 5_000, condition)
}

/// Records what a client transport reports.
final class WSEventLog: Sendable {
    private let events = Mutex<[TransportEvent]>([])

    var handler: @Sendable (TransportEvent) -> Void {
        { [self] event in events.withLock { $0.append(event) } }
    }

    var all: [TransportEvent] { events.withLock { $0 } }

    func clear() { events.withLock { $0.removeAll() } }

    func count(_ event: TransportEvent) -> Int { all.filter { $0 == event }.count }

    /// Waits for the first event matching `match` and returns it.
    @discardableResult
    func wait(timeout: Double = TestGuard.seconds, file: StaticString = #filePath, line: UInt = #line,
              for description: String, _ match: @escaping (TransportEvent) -> Bool) -> TransportEvent? {
        var found: TransportEvent?
        _ = wsEventually(timeout: timeout) {
            found = all.first(where: match)
            return found != nil
        }
        if found == nil { XCTFail("no \(description) within \(timeout)s; events: \(all)", file: file, line: line) }
        return found
    }

    func waitOpened(file: StaticString = #filePath, line: UInt = #line) {
        wait(file: file, line: line, for: ".opened") { $0 == .opened }
    }

    /// The first `.failed` or `.closed`.
    @discardableResult
    func waitEnd(timeout: Double = TestGuard.seconds, file: StaticString = #filePath, line: UInt = #line) -> TransportEvent? {
        wait(timeout: timeout, file: file, line: line, for: ".failed/.closed") {
            switch $0 {
            case .failed, .closed: true
            default: false
            }
        }
    }

    var texts: [String] {
        all.compactMap { if case .text(let text) = $0 { text } else { nil } }
    }
}

/// Records what a server sees and answers upgrades as told.
final class WSServerProbe: Sendable {
    struct Upgrade: Sendable {
        var id: Int
        var path: String
        var query: String
        var headers: [String: String]
    }

    struct State: Sendable {
        var upgrades: [Upgrade] = []
        var opened: [Int] = []
        var texts: [(id: Int, text: String)] = []
        var closed: [Int] = []
        var decision: LWSServer.UpgradeDecision = .accept
    }

    let state = Mutex(State())

    func makeServer(port: Int = 0, tls: (cert: String, key: String)? = nil, maxMessageBytes: Int = 16 << 20) -> LWSServer {
        let configuration = LWSServer.Configuration(
            host: "127.0.0.1", port: port, tlsCertificatePath: tls?.cert, tlsPrivateKeyPath: tls?.key,
            maxMessageBytes: maxMessageBytes)
        return LWSServer(
            configuration: configuration, logger: wsTestLogger("test-server"),
            onUpgrade: { [self] id, path, query, headers in
                state.withLock { s in
                    s.upgrades.append(Upgrade(id: id, path: path, query: query, headers: headers))
                    return s.decision
                }
            },
            onOpen: { [self] id in state.withLock { $0.opened.append(id) } },
            onText: { [self] id, text in state.withLock { $0.texts.append((id, text)) } },
            onClose: { [self] id in state.withLock { $0.closed.append(id) } })
    }

    var opened: [Int] { state.withLock { $0.opened } }
    var closed: [Int] { state.withLock { $0.closed } }
    var texts: [String] { state.withLock { $0.texts.map(\.text) } }
    var upgrades: [Upgrade] { state.withLock { $0.upgrades } }

    func setDecision(_ decision: LWSServer.UpgradeDecision) {
        state.withLock { $0.decision = decision }
    }

    /// Waits until `count` connections have opened; returns the newest id.
    func waitOpen(count: Int = 1, file: StaticString = #filePath, line: UInt = #line) -> Int? {
        if wsEventually({ opened.count >= count }) { return opened.last }
        XCTFail("server saw \(opened.count) opens, wanted \(count)", file: file, line: line)
        return nil
    }
}

/// A self-signed certificate for 127.0.0.1 / localhost (CA:TRUE), made with the openssl tool in
/// a temporary directory for each use, so the server can load it and the client can trust it as
/// `caFile`. Made, not committed: no private key lives in the repository.
enum WSTestCertificate {
    /// Writes a fresh key and certificate, for the names and addresses of `subjectAltName`,
    /// into a new temporary directory.
    static func write(subjectAltName: String = "IP:127.0.0.1,DNS:localhost") throws -> (cert: String, key: String) {
        var template = Array("/tmp/omni-ws-test-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw WSTestFileError(path: "/tmp")
        }
        let base = String(cString: dir)
        let cert = base + "/cert.pem"
        let key = base + "/key.pem"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", key, "-out", cert, "-days", "36500", "-subj", "/CN=omni-test-localhost",
                       "-addext", "subjectAltName=\(subjectAltName)",
                       "-addext", "basicConstraints=critical,CA:TRUE",
                       "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                       "-addext", "extendedKeyUsage=serverAuth"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw WSTestFileError(path: cert) }
        return (cert, key)
    }

    static func remove(_ files: (cert: String, key: String)) {
        unlink(files.cert)
        unlink(files.key)
        if let slash = files.cert.lastIndex(of: "/") { rmdir(String(files.cert[..<slash])) }
    }
}

struct WSTestFileError: Error {
    var path: String
}
