import Foundation
import OmniCore
import XCTest

/// Echo handling end to end (docs/echo-cancellation.md): the real omnid on the virtual board
/// with a simulated room, against the real omni-sim whose server VAD counts `speech_started`.
/// Each answer is the user's phrase echoed back, played into the room while nobody speaks, so
/// any `speech_started` beyond one per phrase is the answer interrupting itself.
final class OmnidEchoTests: XCTestCase {
    static let answers = 10

    /// Cancellation on: every answer completes, and the only speech the service hears is the
    /// user's (one `speech_started` per phrase).
    func testHandsFreeWithCancellationDoesNotInterruptItself() throws {
        let r = try EchoRig.handsFree("aec-on", utterances: Self.answers, echoCancel: "auto")
        print("cancellation on: \(r)")
        XCTAssertEqual(r.speechStarted, Self.answers, "\(r)")
        XCTAssertEqual(r.completed, Self.answers, "\(r)")
        XCTAssertEqual(r.echo?.path, .cancelling)
        // The room's 60 ms plus the devices' buffering, measured by the pipeline.
        let delay = try XCTUnwrap(r.echo?.delayMs, "no echo delay measured: \(r)")
        XCTAssertGreaterThan(delay, 50)
        XCTAssertLessThan(delay, 200)
        // The start-up gate opened once the canceller had learnt the room, and says when.
        let startup = try XCTUnwrap(r.echo?.startup, "\(r)")
        XCTAssertEqual(startup.phase, "converged", "\(r)")
        XCTAssertGreaterThan(startup.learnedMs, try XCTUnwrap(startup.openedAtMs))
        XCTAssertTrue(try XCTUnwrap(r.echo).text.contains("start-up gate converged after"), "\(r)")
    }

    /// Cancellation off in vad mode: half duplex keeps the echo from the service.
    func testHandsFreeHalfDuplexDoesNotInterruptItself() throws {
        let r = try EchoRig.handsFree("aec-off", utterances: Self.answers, echoCancel: "off")
        print("half duplex: \(r)")
        XCTAssertEqual(r.speechStarted, Self.answers, "\(r)")
        XCTAssertEqual(r.completed, Self.answers, "\(r)")
        XCTAssertEqual(r.echo?.path, .halfDuplex)
        XCTAssertGreaterThan(r.echo?.mutedMs ?? 0, Self.answers * 800, "each answer's playback is muted: \(r)")
    }

    /// The control: neither cancellation nor half duplex (test switch). The room's echo does
    /// reach the service and interrupts answers, so the two tests above can fail.
    func testHandsFreeWithoutEitherInterruptsItself() throws {
        let r = try EchoRig.handsFree("aec-none", utterances: 4, echoCancel: "off", halfDuplex: false)
        print("neither: \(r)")
        XCTAssertEqual(r.echo?.path, EchoStatus.Path.none)
        XCTAssertGreaterThan(r.speechStarted, 4, "the echo should have been heard as speech: \(r)")
    }
}
