import XCTest
@testable import OmniCore

/// The start-up gate: half duplex only while the canceller falls short, and only at the start
/// (or while a kept filter is being verified after the streams restarted).
final class EchoStartupGateTests: XCTestCase {
    /// Feeds `seconds` of 20 ms frames: far end at ~8000 RMS, the microphone hears it at `echo`
    /// (half level by default) plus `near` (a talker, or noise, at that share of 8000 RMS); the
    /// canceller's output is the echo × `residual` plus the talker, all × `outScale`. Returns
    /// the gate's attenuation of the last frame, dB (≤ 0).
    @discardableResult
    func feed(_ gate: inout EchoStartupGate, seconds: Double, residual: Double, echo: Double = 0.5, near: Double = 0,
              outScale: Double = 1, farEnd: Bool = true, seed: UInt64 = 1) -> Double {
        var rng = SeededNoise(seed: seed)
        var last = 0.0
        for _ in 0..<Int((seconds * 50).rounded()) {
            let ref = (0..<320).map { _ in farEnd ? PCM.clampToInt16(rng.normal() * 8000) : Int16(0) }
            let talker = (0..<320).map { _ in rng.normal() * 8000 * near }
            let mic = (0..<320).map { PCM.clampToInt16(Double(ref[$0]) * echo + talker[$0]) }
            var out = (0..<320).map { PCM.clampToInt16((Double(ref[$0]) * echo * residual + talker[$0]) * outScale) }
            let before = out
            gate.process(microphone: mic, reference: ref, output: &out, count: 320, sampleRate: 16_000)
            let e0 = before.reduce(0.0) { $0 + Double($1) * Double($1) }, e1 = out.reduce(0.0) { $0 + Double($1) * Double($1) }
            last = e0 > 0 ? 10 * log10(max(e1, 1e-9) / e0) : 0
        }
        return last
    }

    /// A gate that has heard the quiet room before the first answer (its microphone floor).
    func quietRoom() -> EchoStartupGate {
        var gate = EchoStartupGate()
        feed(&gate, seconds: 0.2, residual: 1, farEnd: false)
        return gate
    }

    func db(_ x: Double) -> Double { pow(10, x / 20) }

    func testAttenuatesByTheShortfallThenOpensWhenTheCancellerArrives() {
        var gate = quietRoom()
        // The canceller removes 10 dB: the gate adds the missing 15 dB (25 dB until it opens).
        XCTAssertEqual(feed(&gate, seconds: 1, residual: db(-10)), -15, accuracy: 0.5)
        XCTAssertEqual(gate.phase, .converging)
        XCTAssertEqual(gate.status.attenuationDB, 15, accuracy: 0.5)
        XCTAssertEqual(gate.status.reductionDB ?? 0, 10, accuracy: 0.5)
        // The canceller reaches 40 dB: within its window plus the sustain the gate opens, for good.
        XCTAssertEqual(feed(&gate, seconds: 1, residual: 0.01), 0, accuracy: 0.01)
        XCTAssertEqual(gate.phase, .converged)
        XCTAssertEqual(gate.status.attenuationDB, 0, accuracy: 0.01)
        XCTAssertEqual(feed(&gate, seconds: 1, residual: 0.3), 0, accuracy: 0.01, "open for good, double talk included")
        XCTAssertEqual(gate.status.learnedMs, 3000, accuracy: 20)
        let opened = try? XCTUnwrap(gate.status.openedAtMs)
        // The 10 dB second, then ~0.55 s for the 0.25 s window to forget it, then the 0.3 s sustain.
        XCTAssertGreaterThan(opened ?? 0, 1600)
        XCTAssertLessThan(opened ?? 9999, 2100)
    }

    func testOpensOnceTheTargetIsSustainedNotOnAGoodMoment() {
        var gate = quietRoom()
        // 22 dB: enough to open, but only after 0.3 s of it; meanwhile attenuated to 25 dB.
        XCTAssertEqual(feed(&gate, seconds: 0.2, residual: db(-22)), -3, accuracy: 0.5)
        XCTAssertFalse(gate.open)
        feed(&gate, seconds: 0.14, residual: db(-22))
        XCTAssertEqual(gate.phase, .converged)
        // A dip before the sustain is complete starts it over.
        var other = quietRoom()
        feed(&other, seconds: 0.2, residual: db(-22))
        feed(&other, seconds: 0.1, residual: db(-5))
        feed(&other, seconds: 2, residual: db(-22))
        XCTAssertEqual(other.phase, .converged)
        // 0.2 s, the dip, ~0.85 s for the window to forget it, then 0.3 s: against 0.3 s without it.
        XCTAssertGreaterThan(other.status.openedAtMs ?? 0, 1200)
    }

    func testATalkerOverTheUnconvergedEchoIsGatedWithIt() {
        // Before the canceller has converged, nothing in the energies tells a talker at the
        // echo's level from echo the filter has not learnt: the gate attenuates both.
        var gate = quietRoom()
        feed(&gate, seconds: 0.5, residual: db(-12))
        XCTAssertLessThan(feed(&gate, seconds: 0.5, residual: db(-12), near: 0.5), -10)
        XCTAssertFalse(gate.open)
    }

    func testOpensAfterTheLongestStartEvenIfTheCancellerNeverArrives() {
        var gate = quietRoom()
        feed(&gate, seconds: gate.settings.maximumSeconds - 0.5, residual: 0.3)
        XCTAssertFalse(gate.open)
        feed(&gate, seconds: 1, residual: 0.3)
        XCTAssertEqual(gate.phase, .timedOut, "no permanent half duplex in a room the canceller cannot handle")
    }

    func testNearEndAloneIsNeverGated() {
        var gate = quietRoom()
        XCTAssertEqual(feed(&gate, seconds: 2, residual: 1, farEnd: false), 0, accuracy: 0.01)
        XCTAssertEqual(gate.status.learnedMs, 0)
        XCTAssertNil(gate.status.reductionDB)
    }

    func testEchoAtTheNoiseFloorProvesNothing() {
        // The microphone's own noise (−40 dB) sets its floor; then the far end plays but the
        // microphone hears nothing above that floor (the echo has not arrived, or is inaudible)
        // and a suppressor makes the output far quieter still: no evidence that the canceller
        // has converged, so the gate stays as it is.
        var gate = EchoStartupGate()
        feed(&gate, seconds: 0.5, residual: 1, near: 0.01, farEnd: false)
        feed(&gate, seconds: 1, residual: 1, echo: 0.003, near: 0.01, outScale: 0.001)
        XCTAssertEqual(gate.phase, .converging)
        XCTAssertNil(gate.status.reductionDB)
        // Once the echo is heard and cancelled, it opens.
        feed(&gate, seconds: 1, residual: 0.01, near: 0.01)
        XCTAssertEqual(gate.phase, .converged)
    }

    func testNoEchoAtAllOpensOnceAnEchoWouldHaveArrived() {
        // Headphones, or no room on the file backend: the far end plays loud and the microphone
        // hears nothing. Nothing to gate — but only once an echo would have had time to arrive.
        var gate = quietRoom()
        feed(&gate, seconds: 0.2, residual: 1, echo: 0)
        XCTAssertEqual(gate.phase, .converging, "an echo could still be on its way")
        feed(&gate, seconds: 0.2, residual: 1, echo: 0)
        XCTAssertEqual(gate.phase, .converged)
        XCTAssertEqual(gate.status.openedAtMs ?? 0, 300, accuracy: 20)
        // An echo that does arrive within that time keeps it closed.
        var late = quietRoom()
        feed(&late, seconds: 0.2, residual: 1, echo: 0)
        XCTAssertLessThan(feed(&late, seconds: 1, residual: db(-10)), -10)
        XCTAssertEqual(late.phase, .converging)
    }

    func testAKeptFilterIsVerifiedQuicklyAfterARestart() {
        var gate = quietRoom()
        feed(&gate, seconds: 2, residual: 0.01)
        XCTAssertEqual(gate.phase, .converged)
        let learned = gate.status.learnedMs
        gate.restart(keptFilter: true)
        XCTAssertEqual(gate.phase, .verifying)
        XCTAssertFalse(gate.open)
        // The filter still fits: nothing is attenuated once it is heard, and it opens after
        // 0.1 s of that (plus the frames before the first measurement).
        XCTAssertEqual(feed(&gate, seconds: 0.1, residual: 0.01), 0, accuracy: 0.01)
        feed(&gate, seconds: 0.1, residual: 0.01)
        XCTAssertEqual(gate.phase, .converged)
        XCTAssertEqual(gate.status.learnedMs, learned + 200, accuracy: 20, "what the canceller learnt counts on")
        // A kept filter that no longer fits is gated like a new one.
        gate.restart(keptFilter: true)
        XCTAssertEqual(feed(&gate, seconds: 0.5, residual: db(-5)), -20, accuracy: 0.5)
        XCTAssertEqual(gate.phase, .verifying)
        // A filter that had not converged before the restart goes on converging; a reset forgets.
        var young = quietRoom()
        feed(&young, seconds: 0.5, residual: db(-10))
        young.restart(keptFilter: true)
        XCTAssertEqual(young.phase, .converging)
        young.reset()
        XCTAssertEqual(young.status.learnedMs, 0)
        XCTAssertNil(young.status.openedAtMs)
    }
}
