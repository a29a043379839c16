#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import OmniLinux
import OmniSystem
import XCTest

/// `omnid ctl` against a daemon that does not answer (wedged, or busy shutting down): a clear
/// message and exit status 1, never a hang. The "daemon" is a socket that listens but never
/// accepts, so the kernel completes the connection and nobody ever reads the request.
final class ControlClientTimeoutTests: XCTestCase {
    let tmp = ControlTempDir()
    var path: String { "\(tmp.path)/c.sock" }

    /// A listening socket nobody serves; `backlog` bounds how many connections the kernel queues.
    func deafListener(backlog: Int32 = 8) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let addr = try XCTUnwrap(UnixSocketAddress(path))
        XCTAssertEqual(addr.withSockaddr { bind(fd, $0, $1) }, 0)
        XCTAssertEqual(listen(fd, backlog), 0)
        return fd
    }

    func testNoAnswerIsAnErrorNotAHang() throws {
        let listener = try deafListener()
        defer { close(listener) }
        let r = ControlClient.run(command: "status", socket: path, timeout: .milliseconds(200))
        XCTAssertEqual(r.exitCode, 1)
        XCTAssertEqual(r.output, "omnid ctl: omnid did not answer within 0.2 s on \(path) (is it stuck or shutting down?)")
    }

    /// A full accept queue: connect() itself would wait; the same deadline bounds it.
    func testConnectionNotAcceptedIsAnErrorNotAHang() throws {
        let listener = try deafListener(backlog: 0)
        defer { close(listener) }
        // Fill the queue with non-blocking connections until the kernel refuses one.
        var fillers: [Int32] = []
        defer { for f in fillers { close(f) } }
        let addr = try XCTUnwrap(UnixSocketAddress(path))
        while fillers.count < 64 {
            let f = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            let rc = addr.withSockaddr { connect(f, $0, $1) }
            fillers.append(f)
            if rc != 0 { break }
        }
        let r = ControlClient.run(command: "press", socket: path, timeout: .milliseconds(200))
        XCTAssertEqual(r.exitCode, 1)
        XCTAssertEqual(r.output, "omnid ctl: omnid did not accept the connection within 0.2 s on \(path) (is it stuck?)")
    }

    /// The real `omnid ctl`, with its --timeout option.
    func testOmnidCtlBinaryTimesOut() throws {
        let listener = try deafListener()
        defer { close(listener) }
        let ctl = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", path, "--timeout", "0.2", "status"])
        ctl.process.waitUntilExit()
        XCTAssertTrue(ctl.waitFor { $0.stderr.contains("\n") }, ctl.stderr)
        XCTAssertEqual(ctl.process.terminationStatus, 1)
        XCTAssertEqual(ctl.stderr, "omnid ctl: omnid did not answer within 0.2 s on \(path) (is it stuck or shutting down?)\n")
        XCTAssertEqual(ctl.stdout, "")
    }
}
