import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// speexdsp's canceller through EchoPipeline on a simulated room: the echo goes, a near-end
/// talker stays, noise suppression is optional. Figures (ERLE per room, convergence time, CPU)
/// are bench/aec's; these check the behaviour with margins.
final class EchoCancellerTests: XCTestCase {
    let rate = 16_000

    /// Seeded speech-shaped noise: low-passed, in 150–300 ms bursts with short gaps.
    func speechLike(seconds: Double, seed: UInt64, level: Double) -> [Int16] {
        var rng = SeededNoise(seed: seed)
        var out = [Int16](repeating: 0, count: Int(seconds * Double(rate)))
        var y1 = 0.0, y2 = 0.0, i = 0
        while i < out.count {
            let length = Int((0.15 + 0.15 * rng.uniform()) * Double(rate))
            for k in 0..<length where i + k < out.count {
                let y = 1.6 * y1 - 0.68 * y2 + 0.08 * rng.normal()
                y2 = y1; y1 = y
                out[i + k] = PCM.clampToInt16(y * sin(Double.pi * Double(k) / Double(length)) * level)
            }
            i += length + Int(0.05 * Double(rate))
        }
        return out
    }

    struct Run { var echo: [Int16]; var near: [Int16]; var out: [Int16]; var status: EchoPipelineStatus }

    func run(seconds: Double, far: [Int16], near: [Int16], room: String,
             settings: SpeexEchoCanceller.Settings = SpeexEchoCanceller.Settings()) throws -> Run {
        let pipeline = EchoPipeline(canceller: try SpeexEchoCanceller(settings: settings))
        let sim = RoomSimulator(spec: try RoomSpec.parse(room), sampleRate: rate)
        let n = pipeline.frameSize
        let total = Int(seconds * Double(rate)) / n * n
        var echo = [Int16](repeating: 0, count: total), out = [Int16](repeating: 0, count: total)
        var mic = [Int16](repeating: 0, count: n)
        for start in stride(from: 0, to: total, by: n) {
            far.withUnsafeBufferPointer { f in
                let chunk = UnsafeBufferPointer(rebasing: f[start..<(start + n)])
                sim.play(chunk)
                pipeline.pushReference(chunk)
            }
            for i in 0..<n { mic[i] = 0 }
            mic.withUnsafeMutableBufferPointer { sim.capture(into: $0) }
            for i in 0..<n {
                echo[start + i] = mic[i]
                mic[i] = PCM.saturate(Int32(mic[i]) + Int32(near[start + i]))
            }
            out.withUnsafeMutableBufferPointer { pipeline.process(microphone: mic, output: $0.baseAddress! + start) }
        }
        return Run(echo: echo, near: Array(near.prefix(total)), out: out, status: pipeline.status)
    }

    func level(_ x: [Int16], _ r: Range<Int>) -> Double {
        var m = LevelMeter()
        x[r].withUnsafeBufferPointer { m.add($0) }
        return m.rmsDBFS
    }

    func testEchoIsRemovedAndTheNearEndKept() throws {
        let seconds = 9.0
        let far = speechLike(seconds: seconds, seed: 1, level: 8000)
        var near = [Int16](repeating: 0, count: far.count)
        // A near-end talker over the far end from 6 s on (double talk).
        let talker = speechLike(seconds: 3, seed: 2, level: 4000)
        for i in 0..<talker.count where 6 * rate + i < near.count { near[6 * rate + i] = talker[i] }
        let r = try run(seconds: seconds, far: far, near: near, room: "delay_ms=30,gain_db=-6,rt60_ms=20,noise_db=-80,seed=3")

        XCTAssertEqual(try XCTUnwrap(r.status.delayMs), 30, accuracy: 0.5)
        let single = (4 * rate)..<(6 * rate)
        let erle = level(r.echo, single) - level(r.out, single)
        XCTAssertGreaterThan(erle, 25, "echo return loss enhancement over 4–6 s")
        let doubleTalk = (6 * rate + rate / 2)..<(9 * rate)
        XCTAssertEqual(level(r.out, doubleTalk), level(r.near, doubleTalk), accuracy: 3, "the near-end talker is kept")
    }

    func testNoiseSuppressionIsOptional() throws {
        var rng = SeededNoise(seed: 7)
        let hiss = (0..<(3 * rate)).map { _ in PCM.clampToInt16(rng.normal() * 300) }
        let silent = [Int16](repeating: 0, count: hiss.count)
        var on = SpeexEchoCanceller.Settings()
        on.noiseSuppressionDB = -15
        let off = try run(seconds: 3, far: silent, near: hiss, room: "noise_db=-150,rt60_ms=0")
        let suppressed = try run(seconds: 3, far: silent, near: hiss, room: "noise_db=-150,rt60_ms=0", settings: on)
        let tail = (2 * rate)..<(3 * rate)
        XCTAssertEqual(level(off.out, tail), level(hiss, tail), accuracy: 1, "off: noise passes")
        XCTAssertLessThan(level(suppressed.out, tail), level(hiss, tail) - 8, "on: stationary noise is attenuated")
    }

    func testSettingsAreChecked() {
        var s = SpeexEchoCanceller.Settings()
        s.frameMs = 15
        XCTAssertThrowsError(try SpeexEchoCanceller(settings: s))
        s = SpeexEchoCanceller.Settings()
        s.filterMs = 20
        XCTAssertThrowsError(try SpeexEchoCanceller(settings: s))
        XCTAssertEqual(try SpeexEchoCanceller().frameSize, 320, "20 ms at 16 kHz")
    }
}
