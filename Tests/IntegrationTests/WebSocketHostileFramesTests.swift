#if canImport(Glibc)
import Glibc
#endif
import OmniCore
@testable import OmniWebSocket
import Synchronization
import XCTest

// The transport under what omni-sim's hostile faults send (issue 16), real libwebsockets on both
// ends: receive flow control against a flood, exact framing from LWSServer (fragments, pauses,
// binary, bytes that are not UTF-8) and a reset that follows what was already queued; and the
// receiver's own hold on reading (issue 15: omnid's ReceivePacing).

final class WebSocketHostileFramesTests: XCTestCase {
    private func url(_ port: Int) -> String { "ws://127.0.0.1:\(port)/api-ws/v1/realtime?model=m" }

    private func pair(receiveWindow: LWSClientTransport.ReceiveWindow? = nil, maxMessageDuration: Duration = .seconds(25),
                      file: StaticString = #filePath, line: UInt = #line) throws
        -> (server: LWSServer, log: WSEventLog, client: LWSClientTransport, id: Int, probe: WSServerProbe)
    {
        let probe = WSServerProbe()
        let server = probe.makeServer()
        let port = try server.start()
        let log = WSEventLog()
        let client = LWSClientTransport(logger: wsTestLogger("test-client"), receiveWindow: receiveWindow,
                                        onEvent: log.handler)
        client.connect(ConnectRequest(url: url(port), maxMessageDuration: maxMessageDuration))
        log.waitOpened(file: file, line: line)
        let id = try XCTUnwrap(probe.waitOpen(file: file, line: line), file: file, line: line)
        addTeardownBlock {
            client.shutdown()
            server.stop()
        }
        return (server, log, client, id, probe)
    }

    /// Holds reading, and returns once the hold is in force: it is applied in the pass that
    /// writes the message sent after it, so once the server has that message the socket is no
    /// longer read.
    private func holdReceiving(_ p: (server: LWSServer, log: WSEventLog, client: LWSClientTransport, id: Int,
                                     probe: WSServerProbe)) {
        p.client.holdReceiving(true)
        XCTAssertTrue(p.client.send(text: "holding"))
        XCTAssertTrue(wsEventually { p.probe.texts.contains("holding") })
    }

    /// The receiver's hold (omnid: a few seconds of answer queued): what the server sends
    /// meanwhile stays in the socket; released, all of it comes, in order.
    func testHoldLeavesMessagesUnreadUntilReleased() throws {
        let p = try pair()
        holdReceiving(p)
        for i in 0..<50 { p.server.send(connectionID: p.id, text: "message \(i)") }
        usleep(300_000)  // as above: time for the broken behaviour to show
        XCTAssertEqual(p.log.texts, [], "read during the hold")
        p.client.holdReceiving(false)
        XCTAssertTrue(wsEventually { p.log.texts.count == 50 })
        XCTAssertEqual(p.log.texts, (0..<50).map { "message \($0)" })
    }

    /// `afterReceivedAll` (omnid: a press during a hold) ends the hold and runs only once
    /// everything the server had sent is delivered: the press then sees an answer that ended.
    func testAfterReceivedAllRunsOnceEverythingSentIsDelivered() throws {
        let p = try pair()
        holdReceiving(p)
        let big = String(repeating: "d", count: 6_600)  // an answer delta's size: several reads
        for i in 0..<40 { p.server.send(connectionID: p.id, text: "\(i) \(big)") }
        p.server.send(connectionID: p.id, text: "done")
        usleep(300_000)  // the server has written them all (loopback)
        XCTAssertEqual(p.log.texts, [], "read during the hold")
        let deliveredWhenRun = Mutex<Int?>(nil)
        let log = p.log
        p.client.afterReceivedAll { deliveredWhenRun.withLock { $0 = log.texts.count } }
        XCTAssertTrue(wsEventually { deliveredWhenRun.withLock { $0 } != nil })
        XCTAssertEqual(deliveredWhenRun.withLock { $0 }, 41, "ran before everything sent was delivered")
        XCTAssertEqual(p.log.texts.last, "done")
        // Without a hold, it runs at the next pass.
        let again = Mutex(false)
        p.client.afterReceivedAll { again.withLock { $0 = true } }
        XCTAssertTrue(wsEventually { again.withLock { $0 } })
    }

    /// Regression (flood wedge): without a window every frame of a flood went onto the
    /// controller's queue at once (1,000,000 malformed frames: 168 MB and a control socket that
    /// stopped answering). With one, delivery stops at the window until messages are handled.
    func testReceiveWindowStopsReadingUntilMessagesAreHandled() throws {
        let p = try pair(receiveWindow: LWSClientTransport.ReceiveWindow(messages: 16, bytes: 1 << 20))
        for i in 0..<2_000 { p.server.send(connectionID: p.id, text: "message \(i)") }
        XCTAssertTrue(wsEventually { p.log.texts.count >= 16 })
        // No event can prove a negative (a pong would queue behind the unread frames): give
        // the broken behaviour, which delivers all 2,000 within milliseconds, time to show.
        usleep(300_000)
        XCTAssertEqual(p.log.texts.count, 16, "delivered beyond the window")

        // Handling half the window resumes reading; handling each one keeps it flowing.
        var handled = 0
        while handled < 2_000 {
            guard wsEventually({ p.log.texts.count > handled }) else { break }
            let delivered = p.log.texts.count
            XCTAssertLessThanOrEqual(delivered - handled, 16, "never more than the window outstanding")
            let texts = p.log.texts
            while handled < delivered {
                p.client.receivedMessageHandled(.text(texts[handled]))
                handled += 1
            }
        }
        XCTAssertEqual(p.log.texts, (0..<2_000).map { "message \($0)" }, "all of them, in order")
    }

    func testReceiveWindowCountsBytesToo() throws {
        let p = try pair(receiveWindow: LWSClientTransport.ReceiveWindow(messages: 1_000, bytes: 100_000))
        let big = String(repeating: "b", count: 30_000)
        for _ in 0..<20 { p.server.send(connectionID: p.id, text: big) }
        XCTAssertTrue(wsEventually { p.log.texts.count >= 4 })
        usleep(300_000)  // as above: time for the broken behaviour to show
        XCTAssertEqual(p.log.texts.count, 4, "stops at the message that reaches 100,000 bytes")
        for _ in 0..<3 { p.client.receivedMessageHandled(.text(big)) }  // 30,000 outstanding: resume
        XCTAssertTrue(wsEventually { p.log.texts.count >= 5 })
        p.client.receivedMessageHandled(.opened)  // not a message: ignored
    }

    func testWithoutAWindowEverythingIsDelivered() throws {
        let p = try pair()
        for i in 0..<2_000 { p.server.send(connectionID: p.id, text: "message \(i)") }
        XCTAssertTrue(wsEventually { p.log.texts.count == 2_000 })
    }

    func testFragmentedSlowBinaryAndInvalidMessages() throws {
        let p = try pair()
        // UTF-8 split across one-byte frames, 2 ms apart: reassembled, then validated.
        let text = "héllo wörld 🎙"
        XCTAssertTrue(p.server.send(connectionID: p.id, payload: Array(text.utf8), fragmentBytes: 1, gapMs: 2))
        p.log.wait(for: "the slow text") { $0 == .text(text) }
        // Binary, in three frames.
        p.server.send(connectionID: p.id, payload: [UInt8](repeating: 0xFF, count: 3000), binary: true, fragmentBytes: 1024)
        p.log.wait(for: ".binary") { $0 == .binary(byteCount: 3000) }
        // A text message that is not UTF-8 ends the link (1007).
        p.server.send(connectionID: p.id, payload: [0x7B, 0xC3, 0x28, 0xFF, 0x7D])
        XCTAssertEqual(p.log.waitEnd(), .failed(.protocolError("text message is not valid UTF-8")))
    }

    /// Regression (slow-loris wedge): see OmnidHostileServerTests.
    func testMessageDribbledPastItsTimeLimitFailsTheLink() throws {
        let p = try pair(maxMessageDuration: .milliseconds(300))
        p.server.send(connectionID: p.id, payload: [UInt8](repeating: 0x61, count: 1000), fragmentBytes: 1, gapMs: 5)
        guard case .failed(.protocolError(let why)) = p.log.waitEnd() else { return XCTFail("\(p.log.all)") }
        XCTAssertTrue(why.hasPrefix("message still incomplete after 0.3 seconds"), why)
        XCTAssertTrue(p.log.texts.isEmpty)
    }

    func testResetAfterQueuedDeliversWhatWasQueuedFirst() throws {
        let p = try pair()
        for i in 0..<50 { p.server.send(connectionID: p.id, text: "before reset \(i)") }
        p.server.reset(connectionID: p.id, afterQueued: true)
        XCTAssertFalse(p.server.send(connectionID: p.id, text: "after reset"), "nothing is queued after the reset")
        XCTAssertEqual(p.log.waitEnd(), .failed(.connect("connection lost")))
        XCTAssertEqual(p.log.texts, (0..<50).map { "before reset \($0)" })
    }
}
