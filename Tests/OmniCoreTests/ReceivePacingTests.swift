import OmniCore
import XCTest

final class ReceivePacingTests: XCTestCase {
    func testNoHoldUntilEnoughAnswerIsQueued() {
        var p = ReceivePacing()
        XCTAssertNil(p.answerAudioQueued(queuedMs: 100))
        XCTAssertNil(p.answerAudioQueued(queuedMs: ReceivePacing.minimumQueuedMs - 1))
        XCTAssertEqual(p.phase, .reading)
        XCTAssertEqual(p.holds, 0)
    }

    func testHoldLeavesTheMarginQueued() {
        var p = ReceivePacing()
        XCTAssertEqual(p.answerAudioQueued(queuedMs: 450), .milliseconds(450 - ReceivePacing.marginMs))
        XCTAssertEqual(p.phase, .holding)
        XCTAssertEqual(p.holds, 1)
        // A delta taken in the same read as the one that started the hold starts no second one.
        XCTAssertNil(p.answerAudioQueued(queuedMs: 550))
        XCTAssertEqual(p.holds, 1)
    }

    func testHoldIsCappedSoAServerCloseWaitsAtMostASecond() {
        var p = ReceivePacing()
        XCTAssertEqual(p.answerAudioQueued(queuedMs: 30_000), .milliseconds(ReceivePacing.maximumHoldMs))
    }

    /// What piled up during a hold is read before the next hold can start; a server that never
    /// lets the socket empty (a flood) is therefore read without pause.
    func testNoHoldAgainUntilWhatPiledUpIsRead() {
        var p = ReceivePacing()
        XCTAssertNotNil(p.answerAudioQueued(queuedMs: 500))
        XCTAssertTrue(p.release())
        XCTAssertEqual(p.phase, .catchingUp)
        for i in 0..<1_000 { XCTAssertNil(p.answerAudioQueued(queuedMs: 600 + 100 * i)) }
        p.caughtUp()
        XCTAssertEqual(p.phase, .reading)
        XCTAssertEqual(p.answerAudioQueued(queuedMs: 1_100), .milliseconds(850))
        XCTAssertEqual(p.holds, 2)
    }

    func testReleaseOrCatchUpWithoutHoldIsANoOp() {
        var p = ReceivePacing()
        XCTAssertFalse(p.release())
        p.caughtUp()
        XCTAssertEqual(p.phase, .reading)
        XCTAssertNotNil(p.answerAudioQueued(queuedMs: 800))
        XCTAssertTrue(p.release())
        XCTAssertFalse(p.release(), "released once")
    }
}
