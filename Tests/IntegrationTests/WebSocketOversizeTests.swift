import OmniCore
@testable import OmniWebSocket
import XCTest

// Issue 16: an incoming message over the client's limit must end the link cleanly however its
// bytes fall into libwebsockets' 64 KiB receive chunks. The crash needed the rejecting chunk to
// be a full one (ROOT_CAUSE_OVERSIZE.md), so sizes here are picked around chunk boundaries.
// When the full rejecting chunk also ends its frame, the unfixed client only corrupted the heap
// if it found the next frame's header, which depends on how the reads fell; those cases guard
// the fixed behaviour but did not crash the unfixed code on every run.

final class WebSocketOversizeTests: XCTestCase {
    /// The client's receive chunk (its protocol rx_buffer_size) and the limit used below.
    private static let chunk = 65_536
    private static let tooLarge = TransportEvent.failed(.protocolError("message too large"))

    private func url(_ port: Int) -> String { "ws://127.0.0.1:\(port)/api-ws/v1/realtime" }

    /// Sends `size` bytes to a fresh link with `limit` and expects exactly one clean "message
    /// too large" failure; then reconnects and checks an ordinary message arrives.
    private func expectRejected(size: Int, limit: Int = chunk, followedBy extra: Int? = nil,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        client.connect(ConnectRequest(url: url(port), maxMessageBytes: limit))
        log.waitOpened(file: file, line: line)
        let id = try XCTUnwrap(probe.waitOpen(file: file, line: line), file: file, line: line)
        XCTAssertTrue(server.send(connectionID: id, text: String(repeating: "x", count: size)), file: file, line: line)
        // More data right behind the rejected message, arriving while the close handshake runs
        // (unless the client was quicker and the server already refuses it: either is fine).
        if let extra { _ = server.send(connectionID: id, text: String(repeating: "z", count: extra)) }
        XCTAssertEqual(log.waitEnd(timeout: 30, file: file, line: line), Self.tooLarge, "\(size) bytes", file: file, line: line)
        XCTAssertTrue(wsEventually(timeout: 30) { probe.closed == [id] }, "server sees the link end", file: file, line: line)
        XCTAssertEqual(log.all, [.opened, Self.tooLarge], "\(size) bytes: one failure, nothing else", file: file, line: line)

        log.clear()
        client.connect(ConnectRequest(url: url(port), maxMessageBytes: limit))
        log.waitOpened(file: file, line: line)
        let again = try XCTUnwrap(probe.waitOpen(count: 2, file: file, line: line), file: file, line: line)
        XCTAssertTrue(server.send(connectionID: again, text: "after \(size)"), file: file, line: line)
        log.wait(file: file, line: line, for: "text after reconnect") { $0 == .text("after \(size)") }
    }

    /// 100 kB: the rejecting chunk is the 34,464-byte tail (this was always clean).
    func testOversizeRejectedOnAPartialChunk() throws {
        try expectRejected(size: 100_000)
    }

    /// 140 kB: the rejecting chunk is a full 64 KiB one and 8,928 bytes of the frame follow it.
    func testOversizeRejectedOnAFullChunkMidFrame() throws {
        try expectRejected(size: 140_000)
    }

    /// Exactly two chunks: the rejecting chunk is full and ends the frame; the next message's
    /// bytes follow it.
    func testOversizeRejectedOnAFullFinalChunkWithMoreBehind() throws {
        try expectRejected(size: 2 * Self.chunk, followedBy: 30_000)
    }

    /// The report's numbers at the default 4 MiB limit: 4,194,305 bytes (1-byte rejecting chunk)
    /// and 4.3 MB (full rejecting chunk, ~40 kB of the frame after it).
    func testOversizeAtTheDefaultLimit() throws {
        try expectRejected(size: (4 << 20) + 1, limit: 4 << 20)
        try expectRejected(size: 4_300_000, limit: 4 << 20)
    }

    // MARK: fragmented messages (exact framing from WSFragmentServer)

    /// Connects to a WSFragmentServer whose first connection gets `first` and whose second gets
    /// one short message; expects `end` from the first link (the client's close frame carrying
    /// `closeCode`) and a working second link.
    private func expectFragmentedRejected(_ first: [WSFragmentServer.Message], limit: Int,
                                          end: TransportEvent, closeCode: Int,
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let server = WSFragmentServer(scripts: [first, [WSFragmentServer.message([3, 2])]])
        let port = server.start()
        XCTAssertGreaterThan(port, 0, file: file, line: line)
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        client.connect(ConnectRequest(url: url(port), maxMessageBytes: limit))
        XCTAssertEqual(log.waitEnd(timeout: 30, file: file, line: line), end, file: file, line: line)
        XCTAssertTrue(wsEventually(timeout: 30) { server.closed == 1 }, "server sees the link end", file: file, line: line)
        XCTAssertEqual(server.closeCodes, [closeCode], "the client's close frame", file: file, line: line)
        XCTAssertEqual(log.all.filter { if case .text = $0 { true } else { false } }, [], file: file, line: line)

        log.clear()
        client.connect(ConnectRequest(url: url(port), maxMessageBytes: limit))
        log.wait(file: file, line: line, for: "text after reconnect") { $0 == .text("xxxxx") }
    }

    /// Fragments add up to exactly the limit: delivered whole, and so is the message after it.
    func testFragmentedMessageUpToTheLimitIsReassembled() throws {
        let exact = WSFragmentServer.message([40_000, 25_536])
        let server = WSFragmentServer(scripts: [[exact, WSFragmentServer.message([1, 1, 1])]])
        let port = server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        client.connect(ConnectRequest(url: url(port), maxMessageBytes: Self.chunk))
        log.wait(for: "3-fragment text") { $0 == .text("xxx") }
        XCTAssertEqual(log.texts.map(\.utf8.count), [Self.chunk, 3])
    }

    /// Two fragments within the limit, then a third whose first full 64 KiB chunk crosses it.
    func testFragmentedOversizeRejectedOnAFullChunk() throws {
        try expectFragmentedRejected([WSFragmentServer.message([40_000, 40_000, 100_000])], limit: 100_000,
                                     end: Self.tooLarge, closeCode: 1009)
        try expectFragmentedRejected([WSFragmentServer.message([100_000, 100_000])], limit: 2 * Self.chunk,
                                     end: Self.tooLarge, closeCode: 1009)
    }

    /// Fragments of exactly one chunk: the rejecting chunk is full and ends its frame; more
    /// fragments and a whole message follow.
    func testFragmentedOversizeRejectedOnAFullFinalChunk() throws {
        try expectFragmentedRejected(
            [WSFragmentServer.message([Self.chunk, Self.chunk, Self.chunk]), WSFragmentServer.message([90_000])],
            limit: Self.chunk, end: Self.tooLarge, closeCode: 1009)
    }

    /// The other rejection in the client's receive path: invalid UTF-8 found when a full 64 KiB
    /// chunk completes the message, with more messages behind it.
    func testInvalidUTF8OnAFullChunkFailsCleanly() throws {
        var bad = WSFragmentServer.message([Self.chunk])
        bad[0][Self.chunk - 1] = 0xFF
        try expectFragmentedRejected([bad, WSFragmentServer.message([90_000])], limit: 1 << 20,
                                     end: .failed(.protocolError("text message is not valid UTF-8")), closeCode: 1007)
    }

    // MARK: the server side (omni-sim)

    /// LWSServer refuses a client message over its limit at a full chunk (lws's server parser
    /// resets its buffer either way; this keeps that true) and keeps serving.
    func testServerRejectsOversizeOnAFullChunkAndKeepsServing() throws {
        let probe = WSServerProbe()
        let server = probe.makeServer(maxMessageBytes: Self.chunk)
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), onEvent: log.handler)
        defer {
            client.shutdown()
            server.stop()
        }
        for size in [140_000, 2 * Self.chunk] {
            log.clear()
            client.connect(ConnectRequest(url: url(port)))
            log.waitOpened()
            XCTAssertTrue(client.send(text: String(repeating: "x", count: size)))
            _ = client.send(text: String(repeating: "z", count: 30_000))  // refused if already closed
            XCTAssertEqual(log.waitEnd(timeout: 30), .closed(code: 1009, reason: "message too large"), "\(size) bytes")
        }
        log.clear()
        client.connect(ConnectRequest(url: url(port)))
        log.waitOpened()
        XCTAssertTrue(client.send(text: "fits"))
        XCTAssertTrue(wsEventually(timeout: 30) { probe.texts == ["fits"] })
    }
}
