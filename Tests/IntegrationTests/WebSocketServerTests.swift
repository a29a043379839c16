#if canImport(Glibc)
import Glibc
#endif
import OmniLinux
@testable import OmniWebSocket
import XCTest

// LWSServer seen through a raw TCP socket, to check what is on the wire: a real HTTP status for
// rejected upgrades, no subprotocol needed, true fragmented messages, RST on reset.

final class WebSocketServerTests: XCTestCase {
    func testUpgradeWithoutSubprotocolIsAccepted() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let socket = try RawSocket(port: port)
        let response = try socket.upgrade(path: "/rt?model=m&x=1", extraHeaders: ["Authorization: Bearer abc"])
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 101"), response)
        XCTAssertFalse(response.lowercased().contains("sec-websocket-protocol"), response)
        let id = try XCTUnwrap(probe.waitOpen())
        let upgrade = try XCTUnwrap(probe.upgrades.first)
        XCTAssertEqual(upgrade.id, id)
        XCTAssertEqual(upgrade.path, "/rt")
        XCTAssertEqual(upgrade.query, "model=m&x=1")
        XCTAssertEqual(upgrade.headers["authorization"], "Bearer abc")
        XCTAssertEqual(upgrade.headers["host"], "127.0.0.1:\(port)")
    }

    func testRejectedUpgradeIsARealHTTPResponse() throws {
        let probe = WSServerProbe()
        probe.setDecision(.reject(status: 401, body: "Invalid API-key provided."))
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let socket = try RawSocket(port: port)
        let response = try socket.upgrade(path: "/", extraHeaders: [])
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 401"), response)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"), response)
        XCTAssertTrue(response.lowercased().contains("content-length: 25"), response)
        let body = try socket.read(count: 25)
        XCTAssertEqual(String(decoding: body, as: UTF8.self), "Invalid API-key provided.")
        XCTAssertTrue(probe.opened.isEmpty)
    }

    func testPlainHTTPRequestGets426() throws {
        let server = WSServerProbe().makeServer()
        let port = try server.start()
        defer { server.stop() }
        let socket = try RawSocket(port: port)
        try socket.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertTrue(try socket.readHead().hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
    }

    func testFragmentedMessageIsReassembled() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let socket = try RawSocket(port: port)
        _ = try socket.upgrade(path: "/", extraHeaders: [])
        _ = try XCTUnwrap(probe.waitOpen())
        try socket.write(RawSocket.maskedFrame(opcode: 0x1, fin: false, Array(#"{"type":"#.utf8)))
        try socket.write(RawSocket.maskedFrame(opcode: 0x0, fin: false, Array(#""input_audio_buffer"#.utf8)))
        try socket.write(RawSocket.maskedFrame(opcode: 0x0, fin: true, Array(#".commit"}"#.utf8)))
        XCTAssertTrue(wsEventually { probe.texts == [#"{"type":"input_audio_buffer.commit"}"#] }, "\(probe.texts)")
    }

    func testOversizedMessageClosesWith1009() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer(maxMessageBytes: 100)
        let port = try server.start()
        defer { server.stop() }
        let socket = try RawSocket(port: port)
        _ = try socket.upgrade(path: "/", extraHeaders: [])
        let id = try XCTUnwrap(probe.waitOpen())
        try socket.write(RawSocket.maskedFrame(opcode: 0x1, fin: true, [UInt8](repeating: 0x61, count: 120)))
        let frame = try socket.read(count: 4)
        XCTAssertEqual(frame[0], 0x88, "close frame")
        XCTAssertEqual(Int(frame[2]) << 8 | Int(frame[3]), 1009)
        socket.closeNow()  // instead of echoing the close; lws would otherwise wait 5 s for it
        XCTAssertTrue(wsEventually { probe.closed == [id] })
        XCTAssertTrue(probe.texts.isEmpty)
    }

    func testResetSendsTCPReset() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        defer { server.stop() }
        let socket = try RawSocket(port: port)
        _ = try socket.upgrade(path: "/", extraHeaders: [])
        let id = try XCTUnwrap(probe.waitOpen())
        XCTAssertFalse(server.send(connectionID: id + 100, text: "nobody"), "unknown id")
        server.reset(connectionID: id)
        XCTAssertEqual(socket.readUntilEnd(), ECONNRESET)
        XCTAssertTrue(wsEventually { probe.closed == [id] })
        XCTAssertFalse(server.send(connectionID: id, text: "gone"))
    }

    func testStartFailsOnPortInUseAndCannotRestart() throws {
        let first = WSServerProbe().makeServer()
        let port = try first.start()
        defer { first.stop() }
        XCTAssertThrowsError(try first.start()) { XCTAssertEqual($0 as? LWSServer.StartError, .alreadyStarted) }
        let second = WSServerProbe().makeServer(port: port)
        XCTAssertThrowsError(try second.start()) { error in
            guard case .listen? = error as? LWSServer.StartError else { return XCTFail("\(error)") }
        }
        second.stop()
    }
}

/// A blocking TCP client socket; its receive timeout is a hang guard.
private final class RawSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: Int(TestGuard.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw Failure(description: "connect: errno \(errno)")
        }
    }

    private var closed = false

    deinit {
        closeNow()
    }

    func closeNow() {
        if !closed { close(fd) }
        closed = true
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += n
        }
    }

    func read(count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - out.count, 0) }
            guard n > 0 else { throw Failure(description: "recv: \(n) errno \(errno)") }
            out += buffer[0..<n]
        }
        return out
    }

    /// Reads the status line and headers, byte by byte, up to the blank line.
    func readHead() throws -> String {
        var head: [UInt8] = []
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            head += try read(count: 1)
            if head.count > 16_384 { throw Failure(description: "header too long") }
        }
        return String(decoding: head, as: UTF8.self)
    }

    func upgrade(path: String, extraHeaders: [String]) throws -> String {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for header in extraHeaders { request += header + "\r\n" }
        request += "\r\n"
        try write(Array(request.utf8))
        return try readHead()
    }

    /// Reads until the peer ends the stream; 0 for an orderly close, else the errno.
    func readUntilEnd() -> Int32 {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return 0 }
            if n < 0 { return errno }
        }
    }

    private var port: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A client frame (clients must mask) with a payload under 126 bytes.
    static func maskedFrame(opcode: UInt8, fin: Bool, _ payload: [UInt8]) -> [UInt8] {
        precondition(payload.count < 126)
        let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode, 0x80 | UInt8(payload.count)] + mask
        for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index % 4]) }
        return frame
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
