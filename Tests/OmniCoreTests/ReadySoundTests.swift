import XCTest
@testable import OmniCore

/// The ready sound (ReadySound) and when it plays (ReadySoundCue).
final class ReadySoundTests: XCTestCase {
    func testLengthLevelAndNoClick() {
        for rate in [16_000, 44_100, 48_000] {
            let samples = ReadySound.render(sampleRate: rate, level: 0.3)
            XCTAssertEqual(Double(samples.count) * 1000 / Double(rate), ReadySound.durationMs, accuracy: 1, "@\(rate)")
            XCTAssertEqual(Earcon.render(.ready, sampleRate: rate, level: 0.3), samples, "the earcon slot plays it")
            XCTAssertEqual(Earcon.durationMs(.ready), ReadySound.durationMs)
            var meter = LevelMeter()
            meter.add(samples)
            XCTAssertEqual(Double(meter.peak) / 32767, 0.3, accuracy: 0.001, "peak follows the level @\(rate)")
            // Not loud: at the default earcon_level (0.3, −10.5 dBFS peak) about −24 dBFS RMS,
            // a few dB under a spoken answer (the test question: −20.5 dBFS); the figure the docs give.
            XCTAssertEqual(meter.rmsDBFS, -23.6, accuracy: 0.5, "@\(rate)")
            // Noise, but faded in and out: no step at either end.
            XCTAssertLessThan(abs(Int(samples.first!)), 50)
            XCTAssertLessThan(abs(Int(samples.last!)), 50)
        }
        XCTAssertTrue(ReadySound.render(sampleRate: 16_000, level: 0).allSatisfy { $0 == 0 })
        XCTAssertEqual(ReadySound.render(sampleRate: 16_000, level: 0.3), ReadySound.render(sampleRate: 16_000, level: 0.3),
                       "seeded: the same sound every time")
    }

    /// Energy in each octave band from 125 Hz to 4 kHz, dB relative to the strongest band.
    func octaveBands(_ samples: [Int16], rate: Int) -> [Double] {
        let n = FFT.size(atLeast: samples.count)
        let fft = FFT(size: n)
        var re = [Float](repeating: 0, count: n), im = [Float](repeating: 0, count: n)
        for (i, s) in samples.enumerated() { re[i] = Float(s) }
        re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { fft.forward(real: r.baseAddress!, imaginary: $0.baseAddress!) } }
        let bands = [125.0, 250, 500, 1000, 2000, 4000].map { low -> Double in
            let a = Int(low * Double(n) / Double(rate)), b = Int(2 * low * Double(n) / Double(rate))
            return (a..<b).reduce(0.0) { $0 + Double(re[$1] * re[$1] + im[$1] * im[$1]) }
        }
        let top = bands.max()!
        return bands.map { 10 * log10($0 / top) }
    }

    func testBroadbandSoTheCancellerLearnsEveryBand() {
        // A canceller learns the echo path only where the speaker has energy: every octave of
        // the speech band carries a fair share (pink: about equal per octave), unlike a chime.
        let bands = octaveBands(ReadySound.render(sampleRate: 16_000, level: 0.3), rate: 16_000)
        for (k, db) in bands.enumerated() { XCTAssertGreaterThan(db, -12, "octave \(k) from 125 Hz: \(bands)") }
        let chime = octaveBands(Earcon.render(.listeningStart, sampleRate: 16_000, level: 0.3), rate: 16_000)
        XCTAssertLessThan(chime.min()!, -30, "a tone is not broadband: \(chime)")
    }

    func testPlaysOnceForANewCancellerInHandsFreeModeWhileStreaming() {
        var cue = ReadySoundCue(setting: .auto, mode: .vad, cancelling: true)
        XCTAssertTrue(cue.due)
        XCTAssertFalse(cue.take(streaming: false), "the canceller hears nothing until the microphone is streamed")
        XCTAssertTrue(cue.take(streaming: true))
        XCTAssertFalse(cue.take(streaming: true), "once per canceller (a reconnect streams again)")
        var dropped = ReadySoundCue(setting: .auto, mode: .vad, cancelling: true)
        dropped.cancel()
        XCTAssertFalse(dropped.take(streaming: true), "the canceller was dropped (self-test): nothing to teach")
    }

    func testNotWithoutACancellerNorInButtonModesNorWhenOff() {
        for mode in InteractionMode.allCases {
            for setting in ReadySoundSetting.allCases {
                for cancelling in [false, true] {
                    var cue = ReadySoundCue(setting: setting, mode: mode, cancelling: cancelling)
                    XCTAssertEqual(cue.take(streaming: true), mode == .vad && setting == .auto && cancelling,
                                   "\(mode) \(setting) cancelling \(cancelling)")
                }
            }
        }
    }
}
