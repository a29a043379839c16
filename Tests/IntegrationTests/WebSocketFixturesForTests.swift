#if canImport(Glibc)
import Glibc
#endif
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

/// A self-signed certificate for 127.0.0.1 / localhost (CA:TRUE, valid 2000-2099), written to a
/// temporary directory so the server can load it and the client can trust it as `caFile`.
enum WSTestCertificate {
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBoDCCAUagAwIBAgIBATAKBggqhkjOPQQDAjAeMRwwGgYDVQQDDBNvbW5pLXRl
        c3QtbG9jYWxob3N0MCAXDTAwMDEwMTAwMDAwMFoYDzIwOTkxMjMxMjM1OTU5WjAe
        MRwwGgYDVQQDDBNvbW5pLXRlc3QtbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZI
        zj0DAQcDQgAERdOXoDTUy/F1h1UiTI3VNC5aIYZsFfhAtRMtIFUNWGWxeDZviN5Z
        pyNCibtbZhszHWM6lIwdfTh52ajiAwKBiKNzMHEwGgYDVR0RBBMwEYcEfwAAAYIJ
        bG9jYWxob3N0MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgKEMBMGA1Ud
        JQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBTvw+YyIzV3Qw6Ov7VUXiJmOwFQzDAK
        BggqhkjOPQQDAgNIADBFAiEAuRCg/fb9gxJGdEJig1lWCIyWeCID3cUbjxmZPn5F
        pWECIEv6fKmsK3+hp2TdFCFWdVUg1f5tzNotR/4EHXw8YLPG
        -----END CERTIFICATE-----

        """

    // Test-only key for the certificate above; protects nothing.
    static let privateKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgyd/DPwszPySy3SHK
        5ps+EF/9ac1pKB4/WxJPChThjKGhRANCAARF05egNNTL8XWHVSJMjdU0LlohhmwV
        +EC1Ey0gVQ1YZbF4Nm+I3lmnI0KJu1tmGzMdYzqUjB19OHnZqOIDAoGI
        -----END PRIVATE KEY-----

        """

    /// Writes both PEM files into a fresh temporary directory.
    static func write() throws -> (cert: String, key: String) {
        var template = Array("/tmp/omni-ws-test-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw WSTestFileError(path: "/tmp")
        }
        let base = String(cString: dir)
        let cert = base + "/cert.pem"
        let key = base + "/key.pem"
        try writeFile(cert, certificate)
        try writeFile(key, privateKey)
        return (cert, key)
    }

    static func remove(_ files: (cert: String, key: String)) {
        unlink(files.cert)
        unlink(files.key)
        if let slash = files.cert.lastIndex(of: "/") { rmdir(String(files.cert[..<slash])) }
    }

    private static func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw WSTestFileError(path: path) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw WSTestFileError(path: path)
        }
    }
}

struct WSTestFileError: Error {
    var path: String
}
