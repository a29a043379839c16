import XCTest
@testable import OmniCore

#if canImport(Glibc)
import Glibc
#endif

final class AudioPCMTests: XCTestCase {
    func testDownmixS16AveragesChannelsWithRounding() {
        let stereo: [Int16] = [100, 200, -3, -4, 32767, 32767, -32768, -32768, 1, 2]
        var mono = [Int16](repeating: 0, count: 5)
        stereo.withUnsafeBytes { src in
            mono.withUnsafeMutableBufferPointer { PCM.downmixToMono(src.baseAddress!, format: .s16, channels: 2, frames: 5, into: $0.baseAddress!) }
        }
        XCTAssertEqual(mono, [150, -4, 32767, -32768, 2])
    }

    func testDownmixMonoIsACopy() {
        let input: [Int16] = [1, -2, 3]
        var mono = [Int16](repeating: 0, count: 3)
        input.withUnsafeBytes { src in
            mono.withUnsafeMutableBufferPointer { PCM.downmixToMono(src.baseAddress!, format: .s16, channels: 1, frames: 3, into: $0.baseAddress!) }
        }
        XCTAssertEqual(mono, input)
    }

    func testDownmixS32KeepsTheTop16Bits() {
        let input: [Int32] = [0x1234_0000, 0x1234_0000, Int32.max, Int32.max, -0x0001_0000, -0x0003_0000]
        var mono = [Int16](repeating: 0, count: 3)
        input.withUnsafeBytes { src in
            mono.withUnsafeMutableBufferPointer { PCM.downmixToMono(src.baseAddress!, format: .s32, channels: 2, frames: 3, into: $0.baseAddress!) }
        }
        XCTAssertEqual(mono, [0x1234, 32767, -2])
    }

    func testUpmixDuplicatesIntoEveryChannel() {
        let mono: [Int16] = [5, -6]
        var s16 = [Int16](repeating: 0, count: 6)
        mono.withUnsafeBufferPointer { src in
            s16.withUnsafeMutableBytes { PCM.upmixFromMono(src.baseAddress!, frames: 2, format: .s16, channels: 3, into: $0.baseAddress!) }
        }
        XCTAssertEqual(s16, [5, 5, 5, -6, -6, -6])
        var s32 = [Int32](repeating: 0, count: 4)
        mono.withUnsafeBufferPointer { src in
            s32.withUnsafeMutableBytes { PCM.upmixFromMono(src.baseAddress!, frames: 2, format: .s32, channels: 2, into: $0.baseAddress!) }
        }
        XCTAssertEqual(s32, [5 << 16, 5 << 16, -6 << 16, -6 << 16])
    }

    func testUnityGainIsBitExactAndOtherGainsSaturate() {
        var samples: [Int16] = [1, -1, 12345, -32768, 32767]
        let original = samples
        samples.withUnsafeMutableBufferPointer { PCM.applyGain(.unity, to: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(samples, original)
        XCTAssertTrue(Gain(linear: 1.0).isUnity)

        samples = [1000, -1000, 20000, -20000]
        samples.withUnsafeMutableBufferPointer { PCM.applyGain(Gain(linear: 2), to: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(samples, [2000, -2000, 32767, -32768])

        samples = [1000, -1000, 3]
        samples.withUnsafeMutableBufferPointer { PCM.applyGain(Gain(linear: 0.5), to: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(samples, [500, -500, 2])

        samples = [1000, -1000]
        samples.withUnsafeMutableBufferPointer { PCM.applyGain(Gain(linear: 0), to: $0.baseAddress!, count: $0.count) }
        XCTAssertEqual(samples, [0, 0])
    }

    func testGainClampsItsRange() {
        XCTAssertEqual(Gain(linear: -1).linear, 0)
        XCTAssertEqual(Gain(linear: 100).linear, Gain.maximum)
        XCTAssertEqual(Gain(linear: .nan).linear, 0)
        XCTAssertEqual(Gain(linear: 0.5).decibels, -6.02, accuracy: 0.01)
    }

    func testMixSaturates() {
        var dst: [Int16] = [30000, -30000, 5]
        let src: [Int16] = [10000, -10000, -7]
        src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { PCM.mix(s.baseAddress!, into: $0.baseAddress!, count: 3) } }
        XCTAssertEqual(dst, [32767, -32768, -2])
    }
}

final class AudioEarconTests: XCTestCase {
    func testEveryEarconIsShortAudibleAndClickFree() {
        // The ready sound is noise, long on purpose: ReadySoundTests.
        for kind in EarconKind.allCases where kind != .ready {
            for rate in [16_000, 44_100, 48_000] {
                let samples = Earcon.render(kind, sampleRate: rate, level: 0.3)
                let ms = Double(samples.count) * 1000 / Double(rate)
                XCTAssertEqual(ms, Earcon.durationMs(kind), accuracy: 2, "\(kind) @\(rate)")
                XCTAssertLessThan(ms, 600, "\(kind) is short")
                var meter = LevelMeter()
                meter.add(samples)
                XCTAssertEqual(Double(meter.peak) / 32767, 0.3, accuracy: 0.03, "\(kind) peak follows the level")
                // Starts and ends at (near) zero: no click.
                XCTAssertLessThan(abs(Int(samples.first!)), 50)
                XCTAssertLessThan(abs(Int(samples.last!)), 50)
                // Largest sample-to-sample step stays that of a smooth tone.
                var maxStep = 0
                for i in 1..<samples.count { maxStep = max(maxStep, abs(Int(samples[i]) - Int(samples[i - 1]))) }
                XCTAssertLessThan(Double(maxStep), 0.3 * 32767 * 2 * Double.pi * 2 * 880 / Double(rate) * 1.2, "\(kind) @\(rate)")
            }
        }
        XCTAssertEqual(EarconKind.count, EarconKind.allCases.count)
    }

    func testEarconsAreDistinct() {
        let rendered = EarconKind.allCases.map { Earcon.render($0, sampleRate: 16_000, level: 0.5) }
        for i in 0..<rendered.count {
            for j in (i + 1)..<rendered.count { XCTAssertNotEqual(rendered[i], rendered[j]) }
        }
        XCTAssertTrue(Earcon.render(.error, sampleRate: 16_000, level: 0).allSatisfy { $0 == 0 })
    }
}

final class AudioLevelMeterTests: XCTestCase {
    func testSineLevels() {
        let samples = (0..<48_000).map { n in Int16((16384 * sin(2 * Double.pi * 1000 * Double(n) / 48_000)).rounded()) }
        var meter = LevelMeter()
        meter.add(samples)
        XCTAssertEqual(meter.peak, 16384)
        XCTAssertEqual(meter.peakDBFS, -6.02, accuracy: 0.01)
        XCTAssertEqual(meter.rmsDBFS, -9.03, accuracy: 0.02)
    }

    func testSilence() {
        var meter = LevelMeter()
        meter.add([Int16](repeating: 0, count: 100))
        XCTAssertEqual(meter.peak, 0)
        XCTAssertEqual(meter.rmsDBFS, -.infinity)
        XCTAssertEqual(LevelMeter().rms, 0)
    }
}

final class AudioWAVTests: XCTestCase {
    func testRoundTrip() throws {
        let audio = WAVAudio(sampleRate: 44_100, channels: 2, samples: [1, -1, 32767, -32768, 0, 5])
        let bytes = WAV.encode(audio)
        XCTAssertEqual(bytes.count, 44 + 12)
        XCTAssertEqual(try WAV.decode(bytes), audio)
    }

    func testSkipsUnknownChunksAndReadsExtensible24Bit() throws {
        var b: [UInt8] = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8)
        b += Array("LIST".utf8) + [3, 0, 0, 0, 1, 2, 3, 0]  // odd size, padded
        b += Array("fmt ".utf8) + [40, 0, 0, 0]
        b += [0xFE, 0xFF, 1, 0] + [0x80, 0x3E, 0, 0] + [0x80, 0xBB, 0, 0] + [3, 0, 24, 0]
        b += [22, 0, 24, 0, 4, 0, 0, 0] + [1, 0] + [UInt8](repeating: 0, count: 14)
        b += Array("data".utf8) + [6, 0, 0, 0] + [0x00, 0x34, 0x12, 0xFF, 0xFF, 0xFF]
        let wav = try WAV.decode(b)
        XCTAssertEqual(wav.sampleRate, 16_000)
        XCTAssertEqual(wav.channels, 1)
        XCTAssertEqual(wav.samples, [0x1234, -1])
    }

    func testRejectsWhatItCannotPlay() {
        XCTAssertThrowsError(try WAV.decode(Array("RIFX".utf8)))
        var float = WAV.header(sampleRate: 8000, channels: 1, dataBytes: 0)
        float[20] = 3  // IEEE float
        XCTAssertThrowsError(try WAV.decode(float)) { XCTAssertEqual($0 as? WAVError, .unsupportedFormat("format tag 3, only integer PCM")) }
    }

    func testAStreamThatNeverPatchedItsSizesIsReadToTheEnd() throws {
        var bytes = WAV.header(sampleRate: 8000, channels: 1, dataBytes: 0)
        bytes += [1, 0, 2, 0]
        XCTAssertEqual(try WAV.decode(bytes).samples, [1, 2])
    }
}

final class AudioResamplerContractTests: XCTestCase {
    /// Halves the rate by taking every other sample, consuming at most what fits.
    final class Decimator: Resampler {
        let inputRate = 2
        let outputRate = 1
        var odd = false
        func process(_ input: UnsafeBufferPointer<Int16>, into output: UnsafeMutableBufferPointer<Int16>) -> (consumed: Int, produced: Int) {
            var consumed = 0, produced = 0
            while consumed < input.count {
                if !odd {
                    if produced == output.count { break }
                    output[produced] = input[consumed]
                    produced += 1
                }
                odd.toggle()
                consumed += 1
            }
            return (consumed, produced)
        }
        func finish(into output: inout [Int16]) { odd = false }
        func reset() { odd = false }
    }

    func testConvertHandlesLongInputsInChunks() {
        let input = (0..<10_001).map { Int16(truncatingIfNeeded: $0) }
        var out: [Int16] = []
        Decimator().convert(input, appendingTo: &out)
        XCTAssertEqual(out, stride(from: 0, to: 10_001, by: 2).map { Int16(truncatingIfNeeded: $0) })
    }

    func testPassthroughIsBitExact() {
        let input: [Int16] = [3, -3, 32767, -32768]
        var out: [Int16] = []
        PassthroughResampler(rate: 24_000).convert(input, appendingTo: &out)
        XCTAssertEqual(out, input)
    }
}
