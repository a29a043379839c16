import Foundation
import OmniCore
import OmniLinux
import XCTest

/// `omnid test-audio --echo` on the simulated room: a box that hears itself gets a verdict and
/// config lines; silence, clipping and a missing echo path fail.
final class EchoCheckTests: XCTestCase {
    let audio = OmniConfig().audio

    func check(room: String, seconds: Double = 6) throws -> EchoCheckResult {
        let signal = EchoCheck.measurementSignal(seconds: seconds)
        let recorded = try EchoCheck.simulate(signal, room: try RoomSpec.parse(room))
        return try EchoCheck.analyze(played: signal, recorded: recorded, audio: audio)
    }

    func testAnEchoingRoomPassesWithConfigLines() throws {
        let r = try check(room: "delay_ms=60,gain_db=-6,rt60_ms=150,noise_db=-70,seed=2")
        XCTAssertEqual(r.problems, [])
        XCTAssertEqual(try XCTUnwrap(r.delayMs), 60, accuracy: 1)
        XCTAssertEqual(try XCTUnwrap(r.echoReturnLossDB), -4.2, accuracy: 1.5, "−6 dB direct path plus the tail (DRR 3 dB)")
        XCTAssertGreaterThan(try XCTUnwrap(r.erleDB), 25)
        XCTAssertEqual(r.verdict, .good)
        XCTAssertEqual(Array(r.configLines.prefix(3)), ["[audio]", "echo_cancel = \"on\"", "echo_filter_ms = 250"])
    }

    func testMeasuredImpulseResponseFile() throws {
        // A WAV impulse response: direct path, a reflection 5 ms later, a short decay.
        var taps = [Int16](repeating: 0, count: 800)
        taps[0] = 20_000
        taps[80] = -9_000
        for i in 100..<800 { taps[i] = Int16(Double(3_000) * exp(-Double(i) / 150) * (i % 2 == 0 ? 1 : -1)) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ir-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(WAV.encode(WAVAudio(sampleRate: 16_000, channels: 1, samples: taps))).write(to: URL(fileURLWithPath: path))
        let r = try check(room: "ir=\(path),delay_ms=30,gain_db=-6,noise_db=-70")
        XCTAssertEqual(r.problems, [])
        XCTAssertEqual(try XCTUnwrap(r.delayMs), 30, accuracy: 1)
        XCTAssertEqual(r.verdict, .good)
        XCTAssertThrowsError(try check(room: "ir=/nonexistent/ir.wav")) { XCTAssertTrue("\($0)".contains("ir=/nonexistent/ir.wav"), "\($0)") }
    }

    func testSilenceClippingAndNoEchoPathFail() throws {
        let signal = EchoCheck.measurementSignal(seconds: 5)
        let silent = try EchoCheck.analyze(played: signal, recorded: [Int16](repeating: 0, count: signal.count + 16_000), audio: audio)
        XCTAssertEqual(silent.problems, [.silent])
        XCTAssertEqual(silent.verdict, .failed)
        XCTAssertEqual(silent.configLines, [])

        let loud = try check(room: "delay_ms=20,gain_db=12,rt60_ms=50,noise_db=-70", seconds: 5)
        XCTAssertTrue(loud.problems.contains { if case .clipping = $0 { true } else { false } }, "\(loud.problems)")
        XCTAssertFalse(loud.passed)

        // The speaker is not heard: only the room's noise reaches the microphone.
        let deaf = try check(room: "delay_ms=20,gain_db=-60,rt60_ms=0,noise_db=-40", seconds: 5)
        XCTAssertEqual(deaf.problems, [.noEchoPath])
        XCTAssertFalse(deaf.passed)
    }

    /// The command itself, on the virtual board's file devices with a room.
    func omnid(room: String) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-echo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("omni.conf")
        try """
            [service]
            url = "ws://127.0.0.1:9"
            [audio]
            capture = "file:\(dir.path)/mic.wav"
            playback = "file:\(dir.path)/speaker.wav"
            room = "\(room)"
            """.write(to: conf, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Binaries.path("omnid"))
        p.arguments = ["test-audio", "--echo", "--seconds", "6", "--config", conf.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testCommandPrintsVerdictAndConfigLines() throws {
        let good = try omnid(room: "delay_ms=40,gain_db=-6,rt60_ms=150,noise_db=-70")
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertTrue(good.output.contains("echo delay: 40 ms"), good.output)
        XCTAssertTrue(good.output.contains("verdict: good"), good.output)
        XCTAssertTrue(good.output.contains("  echo_cancel = \"on\""), good.output)

        let deaf = try omnid(room: "gain_db=-60,rt60_ms=0,noise_db=-40")
        XCTAssertEqual(deaf.status, 1, deaf.output)
        XCTAssertTrue(deaf.output.contains("error: the microphone does not hear the speaker"), deaf.output)
    }
}
