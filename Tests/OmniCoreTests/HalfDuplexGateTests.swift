import OmniCore
import XCTest

/// The half-duplex fallback (HalfDuplexGate) and the echo status's wire form.
final class HalfDuplexGateTests: XCTestCase {
    func process(_ gate: inout HalfDuplexGate, reference: [Int16], microphone: [Int16]) -> [Int16] {
        reference.withUnsafeBufferPointer { gate.pushReference($0) }
        var out = microphone
        out.withUnsafeMutableBufferPointer { gate.process($0) }
        return out
    }

    func testMutesWhileTheSpeakerPlaysPlusTheTail() {
        var gate = HalfDuplexGate(tailSamples: 100)
        let mic = [Int16](repeating: 1000, count: 1000)
        var reference = [Int16](repeating: 0, count: 1000)
        for i in 200..<300 { reference[i] = 5000 }
        let out = process(&gate, reference: reference, microphone: mic)
        // Sample 299 is the last loud one: muted from 200 through 299 + 100.
        XCTAssertEqual(out[199], 1000)
        XCTAssertEqual(Array(out[200..<400]), [Int16](repeating: 0, count: 200))
        XCTAssertEqual(out[400], 1000)
        XCTAssertEqual(gate.mutedSamples, 200)
        XCTAssertFalse(gate.muting)
    }

    func testTailCarriesAcrossCallsAndQuietReferenceMutesNothing() {
        var gate = HalfDuplexGate(tailSamples: 300)
        var reference = [Int16](repeating: 0, count: 160)
        reference[159] = -HalfDuplexGate.playingThreshold
        let first = process(&gate, reference: reference, microphone: [Int16](repeating: 7, count: 160))
        XCTAssertEqual(first.prefix(159).filter { $0 == 7 }.count, 159)
        XCTAssertTrue(gate.muting)
        // The tail runs into the next two frames: 159 + 1 + 300 = 460.
        let second = process(&gate, reference: [Int16](repeating: 20, count: 160), microphone: [Int16](repeating: 7, count: 160))
        XCTAssertEqual(second, [Int16](repeating: 0, count: 160))
        let third = process(&gate, reference: [Int16](repeating: 0, count: 160), microphone: [Int16](repeating: 7, count: 160))
        XCTAssertEqual(Array(third[0..<140]), [Int16](repeating: 0, count: 140))
        XCTAssertEqual(Array(third[140...]), [Int16](repeating: 7, count: 20))
        gate.reset()
        XCTAssertFalse(gate.muting)
    }

    /// A discontinuity right after the earcon's reference was read: the streams start over,
    /// but its echo is still to come and stays muted (a plain reset would let it through).
    func testRestartAfterADiscontinuityKeepsWhatWasStillToBeMuted() {
        var gate = HalfDuplexGate(tailSamples: 300)
        var reference = [Int16](repeating: 0, count: 400)
        for i in 100..<200 { reference[i] = 5000 }
        // The microphone lags: 150 of its samples read when the streams break (muted 100…499).
        let first = process(&gate, reference: reference, microphone: [Int16](repeating: 7, count: 150))
        XCTAssertEqual(Array(first[100...]), [Int16](repeating: 0, count: 50))
        gate.restartKeepingMute()
        XCTAssertTrue(gate.muting)
        // 499 + 1 − 150 = 350 samples of the new streams are still muted.
        let after = process(&gate, reference: [Int16](repeating: 0, count: 400), microphone: [Int16](repeating: 7, count: 400))
        XCTAssertEqual(Array(after[0..<350]), [Int16](repeating: 0, count: 350))
        XCTAssertEqual(Array(after[350...]), [Int16](repeating: 7, count: 50))
        // Nothing waiting: nothing carried.
        gate.restartKeepingMute()
        XCTAssertFalse(gate.muting)
        XCTAssertEqual(process(&gate, reference: [Int16](repeating: 0, count: 10), microphone: [Int16](repeating: 7, count: 10)),
                       [Int16](repeating: 7, count: 10))
    }

    func testTailCoversBothBuffersAndTheReverberation() {
        XCTAssertEqual(HalfDuplexGate.tailMs(periodMs: 20, bufferPeriods: 4), 310)
        XCTAssertEqual(HalfDuplexGate.tailMs(periodMs: 10, bufferPeriods: 2), 190)
    }

    func testEchoStatusTravelsInTheStatusLine() throws {
        var status = ApplianceStatus(state: .ready, mode: .vad, connection: "ready")
        var echo = EchoStatus(path: .cancelling)
        echo.delayMs = 61.25
        echo.driftPPM = -3.5
        echo.measurements = 23
        echo.jumps = 1
        echo.erleDB = 29.31
        echo.restarts = 2
        echo.filterKept = 1
        echo.startup = EchoStatus.Startup(phase: "converged", erleDB: 23.46, learnedMs: 5400, openedAtMs: 2660, attenuationDB: 0)
        status.echo = echo
        let back = try XCTUnwrap(ApplianceStatus(json: status.json))
        XCTAssertEqual(back.echo?.path, .cancelling)
        XCTAssertEqual(back.echo?.delayMs, 61.3)
        XCTAssertEqual(back.echo?.erleDB, 29.3)
        XCTAssertEqual(back.echo?.measurements, 23)
        XCTAssertEqual(back.echo?.restarts, 2)
        XCTAssertTrue(back.text.contains("echo:        cancelling, delay 61.3 ms, drift -3.5 ppm, ERLE 29.3 dB"), back.text)
        XCTAssertEqual(back.echo?.startup?.erleDB, 23.5)
        XCTAssertEqual(back.echo?.startup?.openedAtMs, 2660)
        XCTAssertEqual(back.echo?.filterKept, 1)
        XCTAssertTrue(back.text.contains("start-up gate converged after 2660 ms of speaker sound, restarts 2 (filter kept 1)"), back.text)
        // While it converges: how much it has learnt, what it measures, what it attenuates.
        echo.startup = EchoStatus.Startup(phase: "converging", erleDB: 8.44, learnedMs: 1200, openedAtMs: nil, attenuationDB: 16.56)
        status.echo = echo
        let c = try XCTUnwrap(ApplianceStatus(json: status.json))
        XCTAssertEqual(c.echo?.startup, EchoStatus.Startup(phase: "converging", erleDB: 8.4, learnedMs: 1200, openedAtMs: nil, attenuationDB: 16.6))
        XCTAssertTrue(c.text.contains("start-up gate converging (1200 ms of speaker sound learnt, ERLE 8.4 dB, attenuating 16.6 dB)"), c.text)
        var half = EchoStatus(path: .halfDuplex, reason: "echo_cancel = \"off\"")
        half.halfDuplexActive = true
        half.mutedMs = 1200
        status.echo = half
        let h = try XCTUnwrap(ApplianceStatus(json: status.json))
        XCTAssertEqual(h.echo, half)
        XCTAssertTrue(h.text.contains("half-duplex (echo_cancel = \"off\")"))
        XCTAssertTrue(h.text.contains("half duplex active (muted 1200 ms)"))
        status.echo = nil
        XCTAssertNil(ApplianceStatus(json: status.json)?.echo)
    }
}
