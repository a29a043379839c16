import XCTest
@testable import OmniCore

/// `EchoPipeline.restartStreams()`: the streams start over through the same room (an xrun, a
/// device reopen, the microphone unmuted); the canceller keeps what it learnt, sits out until the
/// new streams' delay is measured, and gets the reference at the same alignment as before, even
/// when the streams now stand further apart.
final class EchoRestartTests: XCTestCase {
    /// Records every frame the canceller is handed; removes the echo perfectly once it has seen
    /// `learnFrames` frames since its last reset (a stand-in for speexdsp converging), so the
    /// start-up gate has something to measure.
    final class FakeCanceller: EchoCancellerCore {
        let sampleRate = 16_000
        let frameSize = 320
        var learnFrames = 50
        var calls: [(mic: [Int16], ref: [Int16])] = []
        var resets = 0
        private var seen = 0
        func cancel(microphone: UnsafePointer<Int16>, reference: UnsafePointer<Int16>, output: UnsafeMutablePointer<Int16>) {
            calls.append((Array(UnsafeBufferPointer(start: microphone, count: frameSize)), Array(UnsafeBufferPointer(start: reference, count: frameSize))))
            seen += 1
            for i in 0..<frameSize { output[i] = seen > learnFrames ? microphone[i] / 100 : microphone[i] }
        }
        func reset() {
            resets += 1
            seen = 0
        }
    }

    let room = try! RoomSpec.parse("delay_ms=40,gain_db=-6,rt60_ms=0,noise_db=-90")

    func settings() -> EchoPipeline.Settings {
        var s = EchoPipeline.Settings()
        s.analysisWindowMs = 500  // quicker FFTs in debug builds; the logic is the same
        s.maxDelayMs = 200
        return s
    }

    /// Plays seeded noise through the room into the pipeline for `seconds`; `restartAt` (s):
    /// `restartStreams()` there, and the new reference stream starts `shift` samples early (the
    /// streams now stand that much further apart).
    func run(_ canceller: FakeCanceller, seconds: Double, restartAt: Double? = nil, shift: Int = 0,
             before: Double = 0) -> (pipeline: EchoPipeline, callsAtRestart: Int) {
        let pipeline = EchoPipeline(canceller: canceller, settings: settings())
        let sim = RoomSimulator(spec: room, sampleRate: 16_000)
        var rng = SeededNoise(seed: 9)
        let n = canceller.frameSize
        var mic = [Int16](repeating: 0, count: n), out = [Int16](repeating: 0, count: n)
        var callsAtRestart = 0
        let restartFrame = restartAt.map { Int($0 * 50) }
        for frame in 0..<Int(seconds * 50) {
            if frame == restartFrame {
                pipeline.restartStreams()
                callsAtRestart = canceller.calls.count
                if shift > 0 { [Int16](repeating: 0, count: shift).withUnsafeBufferPointer { pipeline.pushReference($0) } }
            }
            // Silence first (the room before the answer), then the far end.
            let far = (0..<n).map { _ in Double(frame) / 50 < before ? Int16(0) : PCM.clampToInt16(rng.normal() * 3000) }
            far.withUnsafeBufferPointer { sim.play($0); pipeline.pushReference($0) }
            for i in 0..<n { mic[i] = 0 }
            mic.withUnsafeMutableBufferPointer { sim.capture(into: $0) }
            pipeline.process(microphone: mic, output: &out)
        }
        return (pipeline, callsAtRestart)
    }

    /// The last frame's reference leads its echo by `leadMs` (48 samples): the microphone (the
    /// room at −6 dB, no reverberation) is half the reference 48 samples earlier.
    func assertAligned(_ canceller: FakeCanceller, file: StaticString = #filePath, line: UInt = #line) {
        guard let last = canceller.calls.last else { return XCTFail("no frame reached the canceller", file: file, line: line) }
        let g = pow(10, -6.0 / 20)
        var err = 0.0, sig = 0.0
        for k in 48..<320 {
            err += pow(Double(last.mic[k]) - g * Double(last.ref[k - 48]), 2)
            sig += pow(Double(last.mic[k]), 2)
        }
        XCTAssertGreaterThan(10 * log10(sig / max(err, 1e-9)), 40, "reference and echo aligned", file: file, line: line)
    }

    func testRestartKeepsTheFilterWaitsForTheDelayAndCarriesOn() throws {
        let canceller = FakeCanceller()
        let (pipeline, atRestart) = run(canceller, seconds: 6, restartAt: 3, before: 0.2)
        XCTAssertEqual(canceller.resets, 1, "only the first alignment reset the canceller")
        XCTAssertEqual(pipeline.status.jumps, 1, "the delay after the restart is the one before")
        XCTAssertEqual(pipeline.restartsKept, 1)
        XCTAssertEqual(try XCTUnwrap(pipeline.status.delayMs), 40, accuracy: 0.1)
        // It sat out until the new streams were measured (at least a few frames), then went on.
        let after = canceller.calls.count - atRestart
        XCTAssertLessThanOrEqual(after, 150 - 5)
        XCTAssertGreaterThan(after, 100)
        assertAligned(canceller)
        // The start-up gate verified the kept filter (it cancels at once) and opened again,
        // counting on from what the canceller had learnt.
        let startup = pipeline.startup
        XCTAssertEqual(startup.phase, .converged)
        XCTAssertGreaterThan(startup.learnedMs, 5000)
    }

    func testStreamsFurtherApartMoveTheReferenceNotTheFilter() throws {
        // A device restart that leaves the streams 20.5 ms further apart (whole samples here).
        let canceller = FakeCanceller()
        let (pipeline, _) = run(canceller, seconds: 6, restartAt: 3, shift: 328, before: 0.2)
        XCTAssertEqual(canceller.resets, 1, "the filter was kept")
        XCTAssertEqual(pipeline.status.jumps, 2, "the reference moved by the new distance")
        XCTAssertEqual(try XCTUnwrap(pipeline.status.delayMs), 40 - 20.5, accuracy: 0.1)
        assertAligned(canceller)
        XCTAssertEqual(pipeline.startup.phase, .converged)
    }

    func testARestartBeforeAnyMeasurementStartsOver() {
        let canceller = FakeCanceller()
        let (pipeline, _) = run(canceller, seconds: 2, restartAt: 0.1)
        XCTAssertEqual(pipeline.restartsKept, 0)
        XCTAssertEqual(pipeline.status.jumps, 1)
        assertAligned(canceller)
    }

    func testAResetForgetsEverything() {
        let canceller = FakeCanceller()
        let (pipeline, _) = run(canceller, seconds: 3, before: 0.2)
        XCTAssertEqual(pipeline.startup.phase, .converged)
        pipeline.reset()
        XCTAssertEqual(pipeline.startup.phase, .converging)
        XCTAssertEqual(pipeline.startup.learnedMs, 0)
        XCTAssertNil(pipeline.status.delayMs)
        XCTAssertEqual(canceller.resets, 2)
    }
}

/// Which reloads keep the canceller: only those that leave the echo path alone.
final class EchoPathIdentityTests: XCTestCase {
    func testOnlyTheDevicesTheRoomAndTheCancellerMakeAnEchoPath() throws {
        var a = OmniConfig()
        a.session.mode = .vad
        a.audio.capture = "plughw:CARD=Device"
        a.audio.playback = "plughw:CARD=Device"
        var b = a
        b.session.voice = "Ethan"
        b.session.instructions = "Be brief."
        b.audio.volume = 0.5
        b.audio.earcons = false
        b.audio.lookbackMs = 500
        b.audio.prerollMs = 80
        XCTAssertEqual(a.echoPath, b.echoPath, "voice, instructions, volume, earcons: same path")
        for change in [{ (c: inout OmniConfig) in c.audio.capture = "plughw:CARD=Other" },
                       { $0.audio.playback = "default" },
                       { $0.audio.captureRate = 48_000 },
                       { $0.audio.periodMs = 10 },
                       { $0.audio.echoFilterMs = 300 },
                       { $0.audio.noiseSuppression = true },
                       { $0.audio.echoCancel = .off },
                       { $0.audio.room = try? RoomSpec.parse("delay_ms=30") }] {
            var c = a
            change(&c)
            XCTAssertNotEqual(a.echoPath, c.echoPath)
        }
    }
}
