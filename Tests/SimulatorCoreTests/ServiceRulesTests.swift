import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// omni-sim follows the service's rules by default (idle close at 300 s, 120-minute cap, the
/// voice fixed once audio was produced), with knobs to shorten them and to refuse either
/// spelling of the output format.
final class ServiceRulesTests: XCTestCase {
    func testDefaultsAreTheServicesRules() {
        let o = SimOptions()
        XCTAssertEqual(o.idleTimeoutS, 300)
        XCTAssertEqual(o.maxSessionS, 7200)
        XCTAssertEqual(o.closeCode, 1000)
        XCTAssertEqual(o.rejectedOutputFormats, [])
        // Idle close with the documented text, then close 1000; the cap likewise.
        let h = Harness()
        h.advance(to: .seconds(299))
        XCTAssertNil(h.lastError())
        h.advance(to: .seconds(300) + .milliseconds(100))
        XCTAssertEqual(h.lastError()?.message, "Your session was closed because no response was generated for 300 seconds.")
        XCTAssertEqual(h.actions.last, .close(code: 1000, reason: ""))
    }

    func testAudioInputDoesNotResetTheIdleClock() {
        var o = SimOptions.fast()
        o.idleTimeoutS = 3
        let h = Harness(options: o)
        h.send(manualUpdate)
        for i in 1...29 {
            h.advance(to: .milliseconds(100 * i))
            h.append(Signal.tone(ms: 100))
        }
        h.advance(to: .milliseconds(3050))
        XCTAssertEqual(h.lastError()?.code, "response_idle_timeout", "appends are not responses")
    }

    func testEitherOutputFormatSpellingCanBeRefused() {
        for (refused, accepted) in [("pcm24", "pcm16"), ("pcm16", "pcm24")] {
            var o = SimOptions()
            o.rejectedOutputFormats = [refused]
            let h = Harness(options: o)
            h.send(#"{"type":"session.update","session":{"output_audio_format":"\#(refused)","voice":"Ethan"}}"#)
            XCTAssertEqual(h.lastError()?.param, "session.output_audio_format", refused)
            XCTAssertEqual(h.lastError()?.code, "invalid_value")
            XCTAssertEqual(h.session.state.voice, "Cherry", "the whole update is refused")
            h.send(#"{"type":"session.update","session":{"output_audio_format":"\#(accepted)","voice":"Ethan"}}"#)
            XCTAssertEqual(h.types.last, "session.updated", accepted)
            XCTAssertEqual(h.session.state.outputAudioFormat, accepted)
        }
    }
}
