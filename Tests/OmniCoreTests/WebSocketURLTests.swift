import XCTest
@testable import OmniCore

/// The loopback rule decides whether plain ws:// is allowed; config checking and the transport
/// share this one pure implementation (no DNS, no inet_pton).
final class WebSocketURLTests: XCTestCase {
    func testLoopbackLiteralsAndNames() throws {
        for url in ["ws://localhost/", "ws://LOCALHOST:9/", "ws://a.localhost/", "ws://127.0.0.1/", "ws://127.255.0.9:1/",
                    "ws://[::1]/", "ws://[0:0:0:0:0:0:0:1]/", "ws://[::ffff:127.0.0.1]/", "ws://[0::ffff:7f00:1]/"] {
            XCTAssertTrue(try WebSocketURL(parsing: url).isLoopback, url)
        }
        for url in ["ws://192.0.2.1/", "ws://10.0.0.1/", "ws://[::2]/", "ws://example.com/", "ws://128.0.0.1/",
                    "ws://127.0.0.1.example.com/", "ws://localhost.example.com/", "ws://127.1/", "ws://[::ffff:10.0.0.1]/",
                    "ws://[1::1::1]/", "ws://[12345::1]/", "ws://0127.0.0.1/"] {
            XCTAssertFalse(try WebSocketURL(parsing: url).isLoopback, url)
        }
    }

    func testIPv6LiteralsParseLikeInetPton() {
        XCTAssertEqual(IPLiteral.v6("::"), [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(IPLiteral.v6("1:2:3:4:5:6:7:8"), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8])
        XCTAssertEqual(IPLiteral.v6("fe80::1"), [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1])
        XCTAssertNil(IPLiteral.v6("1:2:3:4:5:6:7:8:9"))
        XCTAssertNil(IPLiteral.v6("1:2:3:4:5:6:7"))
        XCTAssertNil(IPLiteral.v6(":::"))
        XCTAssertNil(IPLiteral.v6("g::1"))
    }
}
