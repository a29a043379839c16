import Foundation
import OmniCore
import XCTest

/// The ready sound (issue #12): in hands-free mode a new echo canceller learns the room from the
/// sound omnid plays when it starts (ReadySoundCue), so a second voice over the very first answer
/// of a new echo path is heard by the server while the answer plays. Real omnid and omni-sim,
/// the `file:` backend through a simulated room (Support/BargeInTrials.swift); each trial is a
/// block of its own, started by a reload that changes the devices (a new echo path, as at
/// omnid's start), and its microphone starts with the quiet a user leaves while the box says it
/// is ready. With `ready_sound = "off"` the same first answer cannot be talked over: the
/// start-up gate keeps the uplink attenuated while the canceller learns from the answer itself.
final class OmnidReadySoundTests: XCTestCase {
    static let room = #"room = "delay_ms=60,gain_db=-6,rt60_ms=300,noise_db=-60,seed=7""#

    func testFirstAnswerOfANewEchoPathCanBeTalkedOver() throws {
        let trials = try BargeInTrials("ready-sound", audioExtra: [Self.room, #"echo_cancel = "on""#])
        XCTAssertGreaterThan(trials.readyLead, ReadySound.durationMs / 1000, "each block waits for the ready sound")
        for i in 0..<3 {
            let o = try trials.run(trial: i, seed: UInt64(2000 + i))
            XCTAssertEqual(o.position, 0, "the first answer after the reload: \(o)")
            XCTAssertEqual(o.readyFalseStarts, 0, "the ready sound's echo is not taken for speech: \(o)")
            XCTAssertTrue(o.detected && o.responseActive, "heard while the answer played: \(o)\n\(trials.rig.stderr.suffix(2000))")
            XCTAssertEqual(o.falseStarts, 0, "\(o)")
            XCTAssertTrue(o.cancelSent, "\(o)")
            XCTAssertTrue(o.playbackStopped, "\(o)")
            XCTAssertTrue(o.answered, "\(o)")
        }
        // Played at the start and for each of the three new echo paths.
        XCTAssertEqual(trials.rig.stderr.components(separatedBy: "ready sound (").count - 1, 4, trials.rig.stderr.suffix(3000).description)
        // And it is what the speaker played first: sound throughout the ready sound's length.
        // (The header's size is patched only now and then: every sample written, as BargeInAnalysis.)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(trials.rig.dir)/speaker-0.wav"))
        let speaker = data.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let rate = 16_000  // the file speaker runs at the microphone file's rate
        let first = Array(speaker.prefix(Int(ReadySound.durationMs) * rate / 1000 * 9 / 10))
        XCTAssertGreaterThan(first.count, rate, "the speaker file holds the ready sound")
        for part in stride(from: 0, to: first.count - rate / 10, by: rate / 10) {
            XCTAssertGreaterThan(BargeInTrials.rms(Array(first[part..<(part + rate / 10)])), 100, "sound at \(part) samples")
        }
    }

    func testWithoutTheReadySoundTheFirstAnswerCannotBeTalkedOver() throws {
        let trials = try BargeInTrials("ready-sound-off", audioExtra: [Self.room, #"echo_cancel = "on""#, #"ready_sound = "off""#])
        XCTAssertEqual(trials.readyLead, 0)
        let o = try trials.run(trial: 0, seed: 2000)
        XCTAssertFalse(o.detected && o.responseActive, "the start-up gate held the second voice back: \(o)")
        XCTAssertFalse(trials.rig.stderr.contains("ready sound ("))
    }
}
