#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import OmniCore
@testable import OmniLinux
import Synchronization
import OmniSystem
import XCTest

// Raw clients of the control socket (what a script, socat or a stuck tool does), a temporary
// directory for sockets, and a status provider that only answers when the test says so (a
// controller busy in shutdown).

/// A temporary directory, removed with what is in it.
final class ControlTempDir {
    let path: String

    init() {
        var template = Array("/tmp/omnid-ctl-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit {
        if let d = opendir(path) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink("\(path)/\(name)") }
            }
            closedir(d)
        }
        rmdir(path)
    }
}

/// One raw connection. Reads wait at most `hangGuard` (a guard against a hanging test, never
/// an assertion about time).
final class ControlRawClient {
    let fd: Int32

    init(_ path: String, hangGuard: Duration = .seconds(10)) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var tv = timeval(tv_sec: Int(hangGuard.components.seconds), tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let addr = try XCTUnwrap(UnixSocketAddress(path))
        let rc = addr.withSockaddr { connect(fd, $0, $1) }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ControlError("connect: \(controlErrnoText(e))")
        }
    }

    deinit { close(fd) }

    func write(_ text: String) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }, bytes.count)
    }

    /// The next line without its newline; nil at end of input (or when the hang guard hits).
    func readLine() -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }

    /// Everything until the server closes the connection.
    func readToEnd() -> String {
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            got += buf[0..<n]
        }
        return String(decoding: got, as: UTF8.self)
    }

    /// Whether the server closed the connection (a read returns end of input at once).
    var closedByServer: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 10_000) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK)) == 0
    }
}

/// A status provider whose answers the test hands out: requests pile up until `answerAll`, as
/// with a controller that is busy (in shutdown, say).
final class ControlHeldStatus: Sendable {
    private let held = Mutex<[ControlServer.StatusReply]>([])
    private let asked = Atomic<Int>(0)

    var provider: ControlServer.StatusProvider {
        { [self] reply in
            held.withLock { $0.append(reply) }
            asked.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// How many requests came in so far.
    var requests: Int { asked.load(ordering: .acquiring) }

    /// Waits until `count` requests came in (events, with a hang guard).
    @discardableResult
    func wait(requests count: Int, hangGuard: Duration = .seconds(10)) -> Bool {
        let clock = SystemMonotonicClock()
        let end = clock.now() + hangGuard
        while requests < count {
            if clock.now() > end { return false }
            usleep(1000)
        }
        return true
    }

    /// Answers every request that came in so far (again, for those answered before), in order.
    func answerAll(_ status: ApplianceStatus?) {
        for r in held.withLock({ $0 }) { r(status) }
    }

    /// The held request `i` (in arrival order), answered on its own.
    func answer(_ i: Int, _ status: ApplianceStatus?) {
        let reply = held.withLock { $0[i] }
        reply(status)
    }
}

/// Runs `body` on a thread of its own (not Dispatch's pool, which blocked test clients may
/// have taken) and reports whether it returned within the hang guard.
func controlReturns(hangGuard: Duration = .seconds(15), _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        body()
        done.signal()
    }
    let (s, _) = hangGuard.components
    return done.wait(timeout: .now() + .seconds(Int(s))) == .success
}
