import XCTest
@testable import OmniCore

/// The simulated room on pure signals: a click comes back at the configured delay and gain,
/// its tail decays at the configured RT60, drift stretches time by the configured ppm.
final class RoomSimulatorTests: XCTestCase {
    let rate = 16_000

    /// Plays `speaker` through `room` in 20 ms periods on one clock; returns the microphone.
    func record(_ speaker: [Int16], room: RoomSpec, period: Int = 320) -> [Int16] {
        let sim = RoomSimulator(spec: room, sampleRate: rate)
        var mic = [Int16](repeating: 0, count: speaker.count)
        var i = 0
        while i < speaker.count {
            let n = min(period, speaker.count - i)
            speaker.withUnsafeBufferPointer { s in
                mic.withUnsafeMutableBufferPointer { m in
                    sim.process(played: UnsafeBufferPointer(rebasing: s[i..<(i + n)]),
                                microphone: UnsafeMutableBufferPointer(rebasing: m[i..<(i + n)]))
                }
            }
            i += n
        }
        return mic
    }

    func click(at index: Int, count: Int, amplitude: Int16 = 20_000) -> [Int16] {
        var s = [Int16](repeating: 0, count: count)
        s[index] = amplitude
        return s
    }

    func testClickComesBackAtTheDelayAndGain() throws {
        let room = try RoomSpec.parse("delay_ms=60,gain_db=-6,rt60_ms=0,noise_db=-150")
        let mic = record(click(at: 1000, count: 4000), room: room)
        let peak = mic.indices.max { abs(Int(mic[$0])) < abs(Int(mic[$1])) }!
        XCTAssertEqual(peak - 1000, 960, "60 ms at 16 kHz")
        XCTAssertEqual(Double(mic[peak]) / 20_000, pow(10, -6.0 / 20), accuracy: 0.001)
        XCTAssertEqual(mic.filter { $0 != 0 }.count, 1, "no tail, no noise: the click alone")
    }

    func testReverberationDecaysAtTheConfiguredRT60() throws {
        for rt60 in [150.0, 300.0, 400.0] {
            let room = try RoomSpec.parse("delay_ms=10,gain_db=0,rt60_ms=\(Int(rt60)),noise_db=-150,seed=4")
            let length = Int(rt60 * 1.3) * rate / 1000 + 400
            let mic = record(click(at: 0, count: length, amplitude: 30_000), room: room)
            // The response as recorded (integer samples), from the direct path on.
            let h = mic[160...].map { Float($0) / 30_000 }
            let measured = try XCTUnwrap(RoomImpulseResponse.rt60Ms(of: Array(h), sampleRate: rate))
            XCTAssertEqual(measured, rt60, accuracy: rt60 * 0.1, "RT60 \(rt60) ms")
            XCTAssertEqual(h[0], 1, accuracy: 0.001, "direct path at 0 dB")
        }
    }

    func testDirectToReverberantRatio() throws {
        let h = RoomImpulseResponse.synthetic(try RoomSpec.parse("gain_db=0,rt60_ms=300,drr_db=6,seed=9"), sampleRate: rate)
        let tail = h.dropFirst().reduce(0.0) { $0 + Double($1) * Double($1) }
        XCTAssertEqual(10 * log10(1 / tail), 6, accuracy: 0.5)
    }

    func testNoiseFloorLevelAndSeed() throws {
        let room = try RoomSpec.parse("noise_db=-40,seed=5")
        let mic = record([Int16](repeating: 0, count: 16_000), room: room)
        var meter = LevelMeter()
        meter.add(mic)
        XCTAssertEqual(meter.rmsDBFS, -40, accuracy: 0.3)
        XCTAssertEqual(record([Int16](repeating: 0, count: 16_000), room: room), mic, "same seed, same noise")
        XCTAssertNotEqual(record([Int16](repeating: 0, count: 16_000), room: try RoomSpec.parse("noise_db=-40,seed=6")), mic)
    }

    func testDriftStretchesTheMicrophoneTimeline() throws {
        // Two clicks 10 s apart on the speaker's clock arrive 10 s × (1 + 500 ppm) apart on the
        // microphone's: 80 samples more than 160,000.
        let room = try RoomSpec.parse("delay_ms=20,gain_db=0,rt60_ms=0,noise_db=-150,drift_ppm=500")
        // The speaker's clock is the slower one: it plays 1/(1 + drift) samples per microphone sample.
        let sim = RoomSimulator(spec: room, sampleRate: rate)
        var speaker = [Int16](repeating: 0, count: 170_000)
        speaker[1000] = 20_000
        speaker[161_000] = 20_000
        var mic = [Int16](repeating: 0, count: 170_100)
        var played = 0, captured = 0
        while captured < mic.count {
            let n = min(320, mic.count - captured)
            let due = min(speaker.count, Int((Double(captured + n) / (1 + 500e-6)).rounded()))
            speaker.withUnsafeBufferPointer { sim.play(UnsafeBufferPointer(rebasing: $0[played..<due])) }
            played = due
            mic.withUnsafeMutableBufferPointer { sim.capture(into: UnsafeMutableBufferPointer(rebasing: $0[captured..<(captured + n)])) }
            captured += n
        }
        func peak(in r: Range<Int>) -> Double {
            // Centroid of the interpolated click (sub-sample position).
            var best = r.lowerBound
            for i in r where abs(mic[i]) > abs(mic[best]) { best = i }
            var w = 0.0, m = 0.0
            for i in (best - 3)...(best + 3) { w += Double(mic[i]); m += Double(mic[i]) * Double(i) }
            return m / w
        }
        let first = peak(in: 0..<20_000), second = peak(in: 150_000..<170_100)
        XCTAssertEqual(first, (1000 + 320) * 1.0005, accuracy: 0.6)
        XCTAssertEqual(second - first, 160_000 * 1.0005, accuracy: 0.5)
        XCTAssertEqual(sim.resyncs, 0)
    }

    func testMeasuredImpulseResponseIsScaledToTheGain() throws {
        let wav = WAVAudio(sampleRate: rate, channels: 1, samples: [0, 8000, -4000, 2000])
        let h = try RoomImpulseResponse.measured(wav, spec: RoomSpec.parse("ir=x.wav,gain_db=-6"), sampleRate: rate)
        XCTAssertEqual(h.count, 4)
        XCTAssertEqual(Double(h[1]), pow(10, -6.0 / 20), accuracy: 1e-6)
        XCTAssertEqual(Double(h[2]), -pow(10, -6.0 / 20) / 2, accuracy: 1e-6)
        XCTAssertThrowsError(try RoomImpulseResponse.measured(WAVAudio(sampleRate: rate, channels: 1, samples: [0, 0]),
                                                                spec: RoomSpec(), sampleRate: rate))
    }

    func testSpecRoundTripsAndDefaults() throws {
        XCTAssertEqual(try RoomSpec.parse(""), RoomSpec())
        let s = try RoomSpec.parse("delay_ms=12.5,gain_db=0,rt60_ms=150,noise_db=-80,drift_ppm=-100,seed=42")
        XCTAssertEqual(try RoomSpec.parse(s.description), s)
        XCTAssertEqual(s.description, "delay_ms=12.5,gain_db=0,rt60_ms=150,drr_db=3,noise_db=-80,drift_ppm=-100,seed=42")
        XCTAssertThrowsError(try RoomSpec.parse("delay_ms=1,,seed=2")) { XCTAssertNil(($0 as? RoomSpecError)?.field) }
    }
}
