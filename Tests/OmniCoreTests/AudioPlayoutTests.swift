import XCTest
@testable import OmniCore

/// Drives `Playout` the way the audio loop does, against a simulated ring and device.
private struct PlayoutHarness {
    var playout: Playout
    let period: Int
    var written = 0  // ring write position
    var read = 0  // ring read position
    var device = 0  // frames written to the device
    var underruns = 0
    var ended = 0
    /// What each period played from the ring.
    var takes: [Int] = []

    init(preroll: Int, period: Int) {
        playout = Playout(prerollFrames: preroll)
        self.period = period
    }

    mutating func enqueue(_ n: Int) { written += n }

    mutating func tick() {
        let plan = playout.plan(readPosition: read, available: written - read, periodFrames: period,
                                deviceWritePosition: device)
        XCTAssertLessThanOrEqual(plan.take, period)
        XCTAssertLessThanOrEqual(plan.take, written - read)
        read += plan.take
        device += period
        takes.append(plan.take)
        if plan.underrun { underruns += 1 }
        if plan.answerEnded { ended += 1 }
    }
}

final class AudioPlayoutTests: XCTestCase {
    func testWaitsForPrerollThenPlaysWholePeriods() {
        var h = PlayoutHarness(preroll: 300, period: 100)
        h.enqueue(250)
        h.tick()
        h.tick()
        XCTAssertEqual(h.takes, [0, 0], "below pre-roll: silence, no underrun")
        h.enqueue(50)
        h.tick()
        h.tick()
        h.tick()
        XCTAssertEqual(h.takes, [0, 0, 100, 100, 100])
        XCTAssertEqual(h.underruns, 0)
    }

    func testAnUnderrunMidAnswerPlaysWhatIsThereCountsOnceAndPrerollsAgain() {
        var h = PlayoutHarness(preroll: 200, period: 100)
        h.enqueue(250)
        h.tick()
        h.tick()
        h.tick()  // 50 left: partial period, underrun
        XCTAssertEqual(h.takes, [100, 100, 50])
        XCTAssertEqual(h.underruns, 1)
        h.tick()
        h.tick()
        XCTAssertEqual(h.underruns, 1, "silence while re-buffering is not another underrun")
        h.enqueue(150)
        h.tick()
        XCTAssertEqual(h.takes.last, 0, "150 < pre-roll 200")
        h.enqueue(50)
        h.tick()
        XCTAssertEqual(h.takes.last, 100)
    }

    func testEndOfAnswerPlaysExactlyToTheMarkWithoutUnderrunAndDrainsAfterTheDevicePlayedIt() {
        var h = PlayoutHarness(preroll: 300, period: 100)
        h.enqueue(250)
        h.playout.endOfAnswer(at: 250)
        h.tick()  // shorter than pre-roll but complete: plays at once
        h.tick()
        h.tick()
        XCTAssertEqual(h.takes, [100, 100, 50])
        XCTAssertEqual(h.underruns, 0)
        XCTAssertEqual(h.ended, 1)
        // The last answer sample went to the device at position 200 + 50.
        XCTAssertEqual(h.playout.pendingDrainAt, 250)
        XCTAssertFalse(h.playout.drainCompleted(devicePlayedPosition: 249))
        XCTAssertTrue(h.playout.drainCompleted(devicePlayedPosition: 250))
        XCTAssertFalse(h.playout.drainCompleted(devicePlayedPosition: 400), "reported once")
    }

    func testAnswerEndingOnAPeriodBoundary() {
        var h = PlayoutHarness(preroll: 0, period: 100)
        h.enqueue(200)
        h.playout.endOfAnswer(at: 200)
        h.tick()
        h.tick()
        XCTAssertEqual(h.takes, [100, 100])
        XCTAssertEqual(h.ended, 1)
        XCTAssertEqual(h.playout.pendingDrainAt, 200)
        XCTAssertEqual(h.underruns, 0)
    }

    func testEndOfAnswerAfterTheRingRanDry() {
        var h = PlayoutHarness(preroll: 100, period: 100)
        h.enqueue(150)
        h.tick()
        h.tick()
        XCTAssertEqual(h.underruns, 1, "the end arrived late: that silence was an underrun")
        h.playout.endOfAnswer(at: 150)
        h.tick()
        XCTAssertEqual(h.ended, 1)
        XCTAssertEqual(h.playout.pendingDrainAt, 200, "drained once what the device holds has played")
    }

    func testDataAfterTheMarkIsTheNextAnswer() {
        var h = PlayoutHarness(preroll: 100, period: 100)
        h.enqueue(150)
        h.playout.endOfAnswer(at: 150)
        h.enqueue(300)  // next answer already arriving
        h.tick()
        h.tick()
        XCTAssertEqual(h.takes, [100, 50], "stops at the mark")
        XCTAssertEqual(h.ended, 1)
        h.tick()
        XCTAssertEqual(h.takes.last, 100, "next answer starts after its own pre-roll")
        XCTAssertEqual(h.underruns, 0)
    }

    func testFlushForgetsTheAnswerAndThePendingDrain() {
        var h = PlayoutHarness(preroll: 0, period: 100)
        h.enqueue(100)
        h.playout.endOfAnswer(at: 100)
        h.tick()
        XCTAssertNotNil(h.playout.pendingDrainAt)
        h.playout.flush()
        XCTAssertNil(h.playout.pendingDrainAt)
        XCTAssertNil(h.playout.answerEnd)
        XCTAssertEqual(h.playout.phase, .buffering)
        XCTAssertFalse(h.playout.drainCompleted(devicePlayedPosition: 1_000_000))
    }

    func testNothingQueuedIsSilenceNotUnderrun() {
        var h = PlayoutHarness(preroll: 0, period: 100)
        for _ in 0..<10 { h.tick() }
        XCTAssertEqual(h.underruns, 0)
        XCTAssertEqual(h.takes, Array(repeating: 0, count: 10))
    }
}
