import XCTest
@testable import OmniCore

/// The pure parts of echo cancellation: FFT, delay estimation, drift tracking, and the
/// pipeline's alignment of the reference (with a recording fake in place of speexdsp).
final class EchoAlignmentTests: XCTestCase {
    func noise(_ count: Int, seed: UInt64, rms: Double = 3000) -> [Float] {
        var rng = SeededNoise(seed: seed)
        return (0..<count).map { _ in Float(rng.normal() * rms) }
    }

    func testFFTRoundTripAndImpulse() {
        let fft = FFT(size: 64)
        var re = [Float](repeating: 0, count: 64), im = [Float](repeating: 0, count: 64)
        re[1] = 1
        re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { i in fft.forward(real: r.baseAddress!, imaginary: i.baseAddress!) } }
        // A unit impulse at 1 transforms to e^(−2πik/64): magnitude 1 everywhere.
        for k in 0..<64 {
            XCTAssertEqual(re[k], Float(cos(-2 * Double.pi * Double(k) / 64)), accuracy: 1e-5)
            XCTAssertEqual(im[k], Float(sin(-2 * Double.pi * Double(k) / 64)), accuracy: 1e-5)
        }
        let x = noise(64, seed: 1)
        re = x
        im = [Float](repeating: 0, count: 64)
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in
                fft.forward(real: r.baseAddress!, imaginary: i.baseAddress!)
                fft.inverse(real: r.baseAddress!, imaginary: i.baseAddress!)
            }
        }
        for k in 0..<64 { XCTAssertEqual(re[k], x[k], accuracy: 0.01) }
    }

    func testDelayEstimatorFindsWholeAndFractionalLags() throws {
        let estimator = EchoDelayEstimator(windowSamples: 4000, maxLag: 1000)
        let source = noise(estimator.referenceSamples + 64, seed: 2)
        // The microphone hears the reference `lag` samples late, at half level, under noise.
        for lag in [0.0, 1.0, 333.0, 640.5, 999.0] {
            let interpolator = SincInterpolator()
            var mic = [Float](repeating: 0, count: estimator.windowSamples)
            let hiss = noise(estimator.windowSamples, seed: 3, rms: 100)
            source.withUnsafeBufferPointer { s in
                for i in 0..<mic.count {
                    // Microphone sample i is simultaneous with reference sample i + maxLag.
                    let pos = Double(i + estimator.maxLag) - lag
                    let base = Int(pos.rounded(.down))
                    mic[i] = 0.5 * interpolator.value(center: s.baseAddress! + base, fraction: pos - Double(base)) + hiss[i]
                }
            }
            let e = try XCTUnwrap(source.withUnsafeBufferPointer { s in
                mic.withUnsafeBufferPointer { estimator.estimate(reference: s.baseAddress!, microphone: $0.baseAddress!) }
            })
            XCTAssertEqual(e.lag, lag, accuracy: 0.15, "lag \(lag)")
            XCTAssertGreaterThan(e.confidence, 30)
        }
        // Unrelated signals: no confident peak.
        let unrelated = noise(estimator.windowSamples, seed: 9)
        let e = source.withUnsafeBufferPointer { s in unrelated.withUnsafeBufferPointer { estimator.estimate(reference: s.baseAddress!, microphone: $0.baseAddress!) } }
        XCTAssertLessThan(e?.confidence ?? 0, 30)
        // Silence: nothing to say.
        let silent = [Float](repeating: 0, count: estimator.referenceSamples)
        XCTAssertNil(silent.withUnsafeBufferPointer { s in unrelated.withUnsafeBufferPointer { estimator.estimate(reference: s.baseAddress!, microphone: $0.baseAddress!) } })
    }

    func testTrackerFitsDriftAndIgnoresOutliers() throws {
        var tracker = EchoPathTracker()
        var rng = SeededNoise(seed: 4)
        // Speaker sample s = m / (1 + 100 ppm) − 960, measured every 0.5 s with ±0.3 sample jitter.
        let truth = 1 / (1 + 100e-6)
        for k in 1...120 {
            let m = Double(k) * 8000
            var s = truth * m - 960 + 0.3 * rng.normal()
            if k == 50 { s += 400 }  // one wild measurement
            tracker.add(microphone: m, speaker: s)
        }
        let model = try XCTUnwrap(tracker.model)
        XCTAssertEqual(model.driftPPM, 100, accuracy: 2)
        XCTAssertEqual(model.speakerPosition(atMicrophone: 960_000), truth * 960_000 - 960, accuracy: 1)
        XCTAssertEqual(tracker.rejected, 1)
        XCTAssertEqual(tracker.restarts, 0)
    }

    func testTrackerNeedsTwoAgreeingFirstMeasurementsAndFollowsAMovedPath() throws {
        var tracker = EchoPathTracker()
        tracker.add(microphone: 1600, speaker: 1600 - 285)  // a chance peak
        XCTAssertNil(tracker.model)
        tracker.add(microphone: 3200, speaker: 3200 - 1920)
        XCTAssertNil(tracker.model, "disagrees with the first")
        tracker.add(microphone: 4800, speaker: 4800 - 1920)
        XCTAssertEqual(try XCTUnwrap(tracker.model).offset, -1920, accuracy: 0.01)
        // The path moves by 30 ms (an xrun): three agreeing measurements restart the fit.
        for k in 4...6 { tracker.add(microphone: Double(k) * 1600, speaker: Double(k) * 1600 - 2400) }
        XCTAssertEqual(tracker.restarts, 1)
        XCTAssertEqual(try XCTUnwrap(tracker.model).offset, -2400, accuracy: 0.01)
    }

    /// Records what the pipeline hands the canceller; outputs the microphone unchanged.
    final class RecordingCanceller: EchoCancellerCore {
        let sampleRate = 16_000
        let frameSize = 320
        var references: [Int16] = []
        var resets = 0
        func cancel(microphone: UnsafePointer<Int16>, reference: UnsafePointer<Int16>, output: UnsafeMutablePointer<Int16>) {
            references.append(contentsOf: UnsafeBufferPointer(start: reference, count: frameSize))
            output.update(from: microphone, count: frameSize)
        }
        func reset() { resets += 1 }
    }

    func settings() -> EchoPipeline.Settings {
        var s = EchoPipeline.Settings()
        // A shorter window keeps the debug-build FFTs quick; the logic is the same.
        s.analysisWindowMs = 500
        s.maxDelayMs = 200
        return s
    }

    /// Runs `seconds` of seeded noise through `room` and the pipeline; the speaker side is fed at
    /// the speaker's own rate, as two devices would.
    func run(_ room: RoomSpec, seconds: Double, canceller: RecordingCanceller) -> (pipeline: EchoPipeline, speaker: [Int16]) {
        let pipeline = EchoPipeline(canceller: canceller, settings: settings())
        let sim = RoomSimulator(spec: room, sampleRate: 16_000)
        let speaker = noise(Int(seconds * 16_000) + 16_000, seed: 6).map { PCM.clampToInt16(Double($0)) }
        let n = canceller.frameSize
        var mic = [Int16](repeating: 0, count: n), out = [Int16](repeating: 0, count: n)
        var played = 0
        let step = 1 / (1 + room.driftPPM * 1e-6)
        for frame in 0..<Int(seconds * 16_000) / n {
            let due = Int((Double((frame + 1) * n) * step).rounded())
            speaker.withUnsafeBufferPointer { s in
                let chunk = UnsafeBufferPointer(rebasing: s[played..<due])
                sim.play(chunk)
                pipeline.pushReference(chunk)
            }
            played = due
            for i in 0..<n { mic[i] = 0 }
            mic.withUnsafeMutableBufferPointer { sim.capture(into: $0) }
            pipeline.process(microphone: mic, output: &out)
        }
        return (pipeline, speaker)
    }

    func testPipelineAlignsTheReferenceToTheEchoExactly() throws {
        let canceller = RecordingCanceller()
        let room = try RoomSpec.parse("delay_ms=40,gain_db=-6,rt60_ms=0,noise_db=-90")
        let (pipeline, speaker) = run(room, seconds: 3, canceller: canceller)
        let status = pipeline.status
        XCTAssertEqual(try XCTUnwrap(status.delayMs), 40, accuracy: 0.1)
        XCTAssertEqual(status.jumps, 1)
        XCTAssertEqual(canceller.resets, 1, "the first alignment resets what the filter learnt unaligned")
        // After alignment the reference leads the echo by exactly `leadMs` (3 ms = 48 samples):
        // the canceller gets speaker[m − 640 + 48] with microphone sample m, bit for bit.
        for m in 40_000..<40_320 { XCTAssertEqual(canceller.references[m], speaker[m - 640 + 48], "sample \(m)") }
    }

    func testPipelineCompensatesDrift() throws {
        let canceller = RecordingCanceller()
        let room = try RoomSpec.parse("delay_ms=30,gain_db=-6,rt60_ms=0,noise_db=-90,drift_ppm=200")
        let (pipeline, speaker) = run(room, seconds: 20, canceller: canceller)
        XCTAssertEqual(pipeline.status.driftPPM, 200, accuracy: 5)
        XCTAssertEqual(pipeline.status.jumps, 1, "drift is followed by resampling, not by jumps")
        // The aligned reference is the speaker's signal resampled to the microphone's clock: over
        // a stretch it matches speaker(m / (1 + drift) − 480 + lead) for one lead, nearly sample
        // for sample, and that lead stays put (a few samples off the nominal 48 is fine — the
        // filter covers it — but it must not slide: speexdsp cannot follow a moving echo).
        let step = 1 / (1 + 200e-6)
        let interpolator = SincInterpolator()
        let floats = speaker.map(Float.init)
        func snr(lead: Double, at start: Int) -> Double {
            var err = 0.0, sig = 0.0
            floats.withUnsafeBufferPointer { s in
                for m in start..<(start + 1000) {
                    let pos = Double(m) * step - 480 + lead
                    let base = Int(pos.rounded(.down))
                    let expected = Double(interpolator.value(center: s.baseAddress! + base, fraction: pos - Double(base)))
                    err += pow(Double(canceller.references[m]) - expected, 2)
                    sig += expected * expected
                }
            }
            return 10 * log10(sig / err)
        }
        func bestLead(around start: Int) -> (lead: Double, snr: Double) {
            // Coarse, then fine around the coarse best.
            let coarse = stride(from: 0.0, through: 96.0, by: 0.5).max { snr(lead: $0, at: start) < snr(lead: $1, at: start) }!
            let fine = (-25...25).map { coarse + Double($0) * 0.02 }.max { snr(lead: $0, at: start) < snr(lead: $1, at: start) }!
            return (fine, snr(lead: fine, at: start))
        }
        let early = bestLead(around: 160_000), late = bestLead(around: 310_000)
        XCTAssertGreaterThan(early.snr, 30)
        XCTAssertGreaterThan(late.snr, 30)
        XCTAssertEqual(late.lead, 48, accuracy: 32, "the echo stays inside the filter")
        XCTAssertEqual(late.lead, early.lead, accuracy: 3, "and moves by no more than the slow correction (20 ppm)")
    }
}
