@testable import OmniLinux
import OmniCore
@testable import OmniWebSocket
import XCTest

// Pure pieces of the libwebsockets layer: URL handling, the loopback rule and the mapping of
// lws connection-error texts to TransportFailure.

final class WebSocketClassifierTests: XCTestCase {
    func testURLParsingKeepsPathAndQuery() throws {
        let url = try WebSocketURL(parsing: "wss://dashscope.aliyuncs.com/api-ws/v1/realtime?model=qwen-omni-turbo-realtime")
        XCTAssertTrue(url.secure)
        XCTAssertEqual(url.host, "dashscope.aliyuncs.com")
        XCTAssertEqual(url.port, 443)
        XCTAssertEqual(url.pathAndQuery, "/api-ws/v1/realtime?model=qwen-omni-turbo-realtime")
        XCTAssertEqual(url.hostHeader, "dashscope.aliyuncs.com")

        let local = try WebSocketURL(parsing: "ws://127.0.0.1:9000?x=1#frag")
        XCTAssertFalse(local.secure)
        XCTAssertEqual(local.port, 9000)
        XCTAssertEqual(local.pathAndQuery, "/?x=1")
        XCTAssertEqual(local.hostHeader, "127.0.0.1:9000")

        let v6 = try WebSocketURL(parsing: "ws://[::1]:8080/rt")
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(v6.hostHeader, "[::1]:8080")
        XCTAssertEqual(try WebSocketURL(parsing: "WSS://Example.com").pathAndQuery, "/")

        XCTAssertThrowsError(try WebSocketURL(parsing: "https://example.com/"))
        XCTAssertThrowsError(try WebSocketURL(parsing: "ws://:80/"))
        XCTAssertThrowsError(try WebSocketURL(parsing: "ws://host:0/"))
        XCTAssertThrowsError(try WebSocketURL(parsing: "ws://host:99999/"))
        XCTAssertThrowsError(try WebSocketURL(parsing: "ws://user:pw@host/"))
    }

    func testLoopbackDetectionNeedsNoDNS() throws {
        for host in ["ws://localhost/", "ws://127.0.0.1/", "ws://127.5.6.7:1/", "ws://[::1]/", "ws://[::ffff:127.0.0.1]/"] {
            XCTAssertTrue(try WebSocketURL(parsing: host).isLoopback, host)
        }
        for host in ["ws://192.0.2.1/", "ws://10.0.0.1/", "ws://[::2]/", "ws://example.com/", "ws://128.0.0.1/",
                     "ws://localhost.example.com/"] {
            XCTAssertFalse(try WebSocketURL(parsing: host).isLoopback, host)
        }
    }

    func testConnectionErrorClassification() {
        func classify(_ message: String, _ status: Int = 0) -> TransportFailure {
            LWSFailureClassifier.classify(message: message, httpStatus: status)
        }
        XCTAssertEqual(classify("HS: ws upgrade unauthorized", 401), .httpStatus(401))
        XCTAssertEqual(classify("HS: ws upgrade unauthorized"), .httpStatus(401))
        XCTAssertEqual(classify("HS: ws upgrade response not 101", 403), .httpStatus(403))
        XCTAssertEqual(classify("HS: ws upgrade response not 101", 502), .httpStatus(502))
        XCTAssertEqual(classify("ipv6 lws_getaddrinfo46 failed"), .dns("ipv6 lws_getaddrinfo46 failed"))
        XCTAssertEqual(classify("connect SSL err 1: error:0A000086:SSL routines::certificate verify failed"),
                       .tls("connect SSL err 1: error:0A000086:SSL routines::certificate verify failed"))
        XCTAssertEqual(classify("server's cert didn't look good, X509_V_ERR = 19"), .tls("server's cert didn't look good, X509_V_ERR = 19"))
        XCTAssertEqual(classify("Timed out waiting SSL"), .tls("Timed out waiting SSL"))
        XCTAssertEqual(classify("connect SYSCALL 104"), .tls("connect SYSCALL 104"))
        XCTAssertEqual(classify("HS: ACCEPT missing"), .protocolError("HS: ACCEPT missing"))
        XCTAssertEqual(classify("Unable to connect"), .connect("Unable to connect"))
        XCTAssertEqual(classify("closed before established"), .connect("closed before established"))
    }

    func testCloseFrameHelpers() {
        XCTAssertEqual(WebSocketClose.wireCode(1000), 1000)
        XCTAssertEqual(WebSocketClose.wireCode(4001), 4001)
        XCTAssertEqual(WebSocketClose.wireCode(1005), 1000, "1005/1006 are never sent")
        XCTAssertEqual(WebSocketClose.wireCode(1006), 1000)
        XCTAssertEqual(WebSocketClose.wireReason(String(repeating: "é", count: 100)).count, 122)
        var payload: [UInt8] = [0x0f, 0xa1] + Array("bye".utf8)
        let parsed = payload.withUnsafeMutableBytes { WebSocketClose.parse($0.baseAddress, length: $0.count) }
        XCTAssertEqual(parsed.code, 4001)
        XCTAssertEqual(parsed.reason, "bye")
        XCTAssertEqual(WebSocketClose.parse(nil, length: 0).code, 1005)
    }
}
