import XCTest
@testable import OmniCore

/// The frame rules, with a frame's number as its payload and times given by hand.
final class CameraTurnGateTests: XCTestCase {
    typealias Gate = CameraTurnGate<Int>

    func gate(fps: Double = 1, when: CameraTrigger = .turn) -> Gate {
        Gate(settings: .init(frameInterval: .nanoseconds(Int64(1e9 / fps)), trigger: when))
    }

    func names(_ out: [CameraGateOutput<Int>]) -> [String] {
        out.map { o in
            if case .send(let n) = o { return "send(\(n))" }
            return o.description
        }
    }

    func ms(_ n: Int) -> Duration { .milliseconds(n) }

    func testFramesWaitForTheTurnsFirstAudioThenFollowTheRate() {
        var g = gate()
        XCTAssertEqual(names(g.turnOpened(at: ms(1000))), ["startCapture"])
        // Ready before any audio went out: held, not sent (the service would refuse it).
        XCTAssertEqual(names(g.frame(1, capturedAt: ms(1010), at: ms(1030))), [])
        XCTAssertEqual(names(g.audioAppended(at: ms(1100))), ["send(1)"])
        XCTAssertEqual(names(g.audioAppended(at: ms(1200))), [])
        XCTAssertEqual(names(g.frame(2, capturedAt: ms(2010), at: ms(2030))), ["send(2)"])
        // A burst faster than the rate is refused.
        XCTAssertEqual(names(g.frame(3, capturedAt: ms(2100), at: ms(2110))), ["drop(faster than the configured rate)"])
        XCTAssertEqual(names(g.frame(4, capturedAt: ms(3000), at: ms(3010))), ["send(4)"])
        XCTAssertEqual(names(g.turnClosed(at: ms(3500))), ["stopCapture", "turnEnded(3)"])
        // After the turn: nothing goes out.
        XCTAssertEqual(names(g.frame(5, capturedAt: ms(3600), at: ms(3610))), ["drop(no turn open)"])
    }

    func testJitterWithinTheSlackIsNotARateViolation() {
        var g = gate(fps: 2)
        _ = g.turnOpened(at: ms(0))
        _ = g.audioAppended(at: ms(100))
        XCTAssertEqual(names(g.frame(1, capturedAt: ms(100), at: ms(120))), ["send(1)"])
        XCTAssertEqual(names(g.frame(2, capturedAt: ms(560), at: ms(520))), ["send(2)"], "400 ms apart at 2 fps")
    }

    func testStaleAndOldFramesAreNeverSent() {
        var g = gate()
        _ = g.turnOpened(at: ms(1000))
        _ = g.audioAppended(at: ms(1100))
        // Captured before the press: a leftover of the previous turn.
        XCTAssertEqual(names(g.frame(1, capturedAt: ms(990), at: ms(1150))), ["drop(captured before the turn)"])
        // Encoded too late.
        XCTAssertEqual(names(g.frame(2, capturedAt: ms(1200), at: ms(2300))), ["drop(older than a second)"])
        // A frame waiting for audio also ages out.
        var h = gate()
        _ = h.turnOpened(at: ms(0))
        XCTAssertEqual(names(h.frame(1, capturedAt: ms(10), at: ms(20))), [])
        XCTAssertEqual(names(h.audioAppended(at: ms(1500))), ["drop(older than a second)"])
    }

    func testANewerFrameReplacesOneWaitingForAudio() {
        var g = gate()
        _ = g.turnOpened(at: ms(0))
        XCTAssertEqual(names(g.frame(1, capturedAt: ms(10), at: ms(20))), [])
        XCTAssertEqual(names(g.frame(2, capturedAt: ms(60), at: ms(70))), ["drop(replaced by a newer frame)"])
        XCTAssertEqual(names(g.audioAppended(at: ms(100))), ["send(2)"])
    }

    func testATurnWithoutFramesStillEnds() {
        var g = gate()
        _ = g.turnOpened(at: ms(0))
        _ = g.frame(1, capturedAt: ms(10), at: ms(20))
        // Released before the first audio chunk: the held frame goes nowhere, the turn ends.
        XCTAssertEqual(names(g.turnClosed(at: ms(90), committed: false)), ["drop(no turn open)", "stopCapture", "turnEnded(0, dropped)"])
        XCTAssertFalse(g.capturing)
    }

    func testLookTurnsOnly() {
        var g = gate(when: .look)
        // An ordinary turn: the camera stays off.
        XCTAssertEqual(names(g.turnOpened(at: ms(0))), [])
        _ = g.audioAppended(at: ms(100))
        XCTAssertEqual(names(g.frame(1, capturedAt: ms(150), at: ms(160))), ["drop(no turn open)"])
        XCTAssertEqual(names(g.turnClosed(at: ms(500))), [])
        // A look gesture, then a turn within the window.
        XCTAssertEqual(names(g.lookGesture(at: ms(1000))), [])
        XCTAssertEqual(names(g.turnOpened(at: ms(1400))), ["startCapture"])
        _ = g.audioAppended(at: ms(1500))
        XCTAssertEqual(names(g.frame(2, capturedAt: ms(1450), at: ms(1510))), ["send(2)"])
        XCTAssertEqual(names(g.turnClosed(at: ms(2000))), ["stopCapture", "turnEnded(1, look)"])
        // The gesture is used up by that turn.
        XCTAssertEqual(names(g.turnOpened(at: ms(3000))), [])
        _ = g.turnClosed(at: ms(3500))
        // A gesture too long before the turn does not count.
        _ = g.lookGesture(at: ms(4000))
        XCTAssertEqual(names(g.turnOpened(at: ms(4000) + CameraLimits.lookWindow + ms(1))), [])
        // The gesture during a turn (push-to-talk: the second press starts it) marks that turn.
        XCTAssertEqual(names(g.lookGesture(at: ms(20_000))), ["startCapture"])
        _ = g.audioAppended(at: ms(20_100))
        XCTAssertEqual(names(g.frame(3, capturedAt: ms(20_050), at: ms(20_120))), ["send(3)"])
    }

    func testEveryTurnWhenSetToTurn() {
        var g = gate()
        for t in 0..<3 {
            let base = t * 10_000
            XCTAssertEqual(names(g.turnOpened(at: ms(base))), ["startCapture"])
            XCTAssertEqual(names(g.turnClosed(at: ms(base + 500))), ["stopCapture", "turnEnded(0)"])
        }
    }

    func testABargeInOpensAFreshTurn() {
        var g = gate()
        _ = g.turnOpened(at: ms(0))
        _ = g.audioAppended(at: ms(100))
        _ = g.frame(1, capturedAt: ms(100), at: ms(110))
        // The appliance goes listening again without leaving the old turn first: the old one ends.
        XCTAssertEqual(names(g.turnOpened(at: ms(5000))), ["stopCapture", "turnEnded(1, dropped)", "startCapture"])
        XCTAssertEqual(names(g.frame(2, capturedAt: ms(5010), at: ms(5020))), [], "needs this turn's audio first")
    }
}
