import OmniCore
import XCTest

final class ReceivePacingTests: XCTestCase {
    private func ms(_ n: Int) -> Duration { .milliseconds(n) }

    func testNoHoldUntilEnoughAnswerIsQueued() {
        var p = ReceivePacing()
        XCTAssertNil(p.answerAudioQueued(queuedMs: 100, now: .zero))
        XCTAssertNil(p.answerAudioQueued(queuedMs: ReceivePacing.minimumQueuedMs - 1, now: ms(25)))
        XCTAssertFalse(p.holding)
        XCTAssertEqual(p.holds, 0)
    }

    func testHoldLeavesTheMarginQueued() {
        var p = ReceivePacing()
        XCTAssertEqual(p.answerAudioQueued(queuedMs: 450, now: .zero), ms(450 - ReceivePacing.marginMs))
        XCTAssertTrue(p.holding)
        XCTAssertEqual(p.holds, 1)
        // A delta taken in the same read as the one that started the hold starts no second one.
        XCTAssertNil(p.answerAudioQueued(queuedMs: 550, now: .zero))
        XCTAssertEqual(p.holds, 1)
    }

    func testHoldIsCappedSoAServerCloseWaitsAtMostASecond() {
        var p = ReceivePacing()
        XCTAssertEqual(p.answerAudioQueued(queuedMs: 30_000, now: .zero), ms(ReceivePacing.maximumHoldMs))
    }

    func testWhatPiledUpIsReadBeforeTheNextHold() {
        var p = ReceivePacing()
        XCTAssertNotNil(p.answerAudioQueued(queuedMs: 500, now: .zero))
        XCTAssertTrue(p.release(now: ms(250)))
        // The deltas TCP kept during the hold come back to back: none of them holds again.
        for i in 0..<8 {
            XCTAssertNil(p.answerAudioQueued(queuedMs: 600 + 100 * i, now: ms(250) + .microseconds(100 * i)))
        }
        XCTAssertNil(p.answerAudioQueued(queuedMs: 1_400, now: ms(250) + ReceivePacing.burst - .nanoseconds(1)))
        // The next delta, which arrives later, does.
        XCTAssertEqual(p.answerAudioQueued(queuedMs: 1_100, now: ms(250) + ReceivePacing.burst), ms(850))
        XCTAssertEqual(p.holds, 2)
    }

    func testReleaseWithoutHoldIsANoOp() {
        var p = ReceivePacing()
        XCTAssertFalse(p.release(now: .zero))
        // …and is not the end of a hold: the first hold may start at once.
        XCTAssertNotNil(p.answerAudioQueued(queuedMs: 800, now: .nanoseconds(1)))
    }
}
