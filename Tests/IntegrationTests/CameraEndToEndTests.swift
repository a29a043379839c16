import Foundation
import XCTest

/// The camera end to end: omnid on the virtual board with a `file:DIR` camera (a red picture,
/// then a blue one), omni-sim checking every image and answering `--answer describe`. The
/// button is the control socket; each turn is held until omni-sim has logged what the test waits
/// for, so nothing depends on how fast either side is. Rates and the audio-first rule are checked
/// on omni-sim's log (its own clock), not against the test's.
final class CameraEndToEndTests: XCTestCase {
    struct SimLine {
        var tMs: Double
        var dir: String
        var type: String
        var event: [String: Any]
    }

    func simLog(_ path: String) -> [SimLine] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let t = o["t_ms"] as? Double, let dir = o["dir"] as? String, let e = o["event"] as? [String: Any],
                  let type = e["type"] as? String else { return nil }
            return SimLine(tMs: t, dir: dir, type: type, event: e)
        }
    }

    /// One committed turn as omni-sim saw it.
    struct Turn {
        var firstAppendMs: Double?
        var commitMs: Double
        var imageMs: [Double] = []
        var colours: [String] = []
        var imageBeforeAudio = false
    }

    func turns(_ log: [SimLine]) -> [Turn] {
        var out: [Turn] = []
        var cur = Turn(commitMs: 0)
        for l in log {
            switch (l.dir, l.type) {
            case ("client", "input_audio_buffer.append"):
                if cur.firstAppendMs == nil { cur.firstAppendMs = l.tMs }
            case ("client", "input_image_buffer.append"):
                if cur.firstAppendMs == nil { cur.imageBeforeAudio = true }
                cur.imageMs.append(l.tMs)
            case ("sim", "_sim.image"):
                cur.colours.append(l.event["colour"] as? String ?? "?")
            case ("client", "input_audio_buffer.commit"):
                cur.commitMs = l.tMs
                out.append(cur)
                cur = Turn(commitMs: 0)
            case ("client", "input_audio_buffer.clear"):
                cur = Turn(commitMs: 0)
            default:
                break
            }
        }
        return out
    }

    /// A running omnid on the virtual board with a file camera, and its omni-sim.
    struct Rig {
        let dir: String
        let sim: SimProcess
        let simLogPath: String
        let omnid: ChildProcess

        func ctl(_ verb: String) throws {
            let c = try ChildProcess(try Binaries.path("omnid"), ["ctl", "--socket", "\(dir)/ctl.sock", verb])
            guard c.waitForExit() else {
                c.killAndWait()
                throw MissingPrerequisite("omnid ctl \(verb) did not finish")
            }
            XCTAssertEqual(c.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok", c.stderr)
        }

        var assistantLines: [String] {
            omnid.stderr.split(separator: "\n").compactMap { line in
                line.range(of: "assistant: ").map { String(line[$0.upperBound...]) }
            }
        }
    }

    /// A 16-bit mono 16 kHz PCM WAV file of silence.
    func writeSilentWAV(_ path: String, seconds: Int) throws {
        try OmnidRig.writeWAV(path, samples: [Int16](repeating: 0, count: 16_000 * seconds))
    }

    /// - Parameter boardFile: a board file of the test's own (written to DIR/board.toml), else the virtual board.
    func makeRig(camera: String, boardFile: String? = nil, simArgs: [String] = []) throws -> Rig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-camera-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(dir)/frames", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        // The camera directory: red first, then blue (name order).
        let fixtures = Binaries.repoRoot.appendingPathComponent("Tests/Fixtures/camera")
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("red-640x480.jpg").path, toPath: "\(dir)/frames/1-red.jpg")
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("blue-640x480.jpg").path, toPath: "\(dir)/frames/2-blue.jpg")
        let simLogPath = "\(dir)/sim.jsonl"
        let sim = try SimProcess(arguments: ["--answer", "describe", "--speed", "8", "--log", simLogPath, "--log-audio", "false"] + simArgs)
        // A silent microphone: whatever a turn holds still goes out as audio.
        try writeSilentWAV("\(dir)/mic.wav", seconds: 1)
        var board = "name = \"virtual\""
        if let boardFile {
            try boardFile.write(toFile: "\(dir)/board.toml", atomically: true, encoding: .utf8)
            board = "file = \"\(dir)/board.toml\""
        }
        let conf = "\(dir)/omni.conf"
        try """
            [service]
            url = "\(sim.url)"
            [board]
            \(board)
            [audio]
            capture = "file:\(dir)/mic.wav"
            playback = "file:\(dir)/speaker.wav"
            earcons = false
            [control]
            socket = "\(dir)/ctl.sock"
            [camera]
            \(camera.replacingOccurrences(of: "DIR", with: dir))
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-camera"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        env["OMNID_LOG_LEVEL"] = "debug"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        addTeardownBlock { omnid.terminateAndWait() }
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("LED state: ready") }, omnid.stderr)
        return Rig(dir: dir, sim: sim, simLogPath: simLogPath, omnid: omnid)
    }

    /// Holds the button until omni-sim has logged `images` images in total and at least 300 ms
    /// of the turn's audio after the press (the turn must not be too short to send; the 300 ms
    /// of look-back before the press arrive at once, `[audio] lookback_ms`), then releases and
    /// waits for the answer.
    func turn(_ rig: Rig, untilImages images: Int, answers: Int) throws {
        let before = simLog(rig.simLogPath).filter { $0.type == "input_audio_buffer.append" }.count
        try rig.ctl("press")
        XCTAssertTrue(eventually {
            let log = self.simLog(rig.simLogPath)
            return log.filter { $0.type == "_sim.image" }.count >= images
                && log.filter { $0.type == "input_audio_buffer.append" }.count >= before + 3 + 3
        }, rig.omnid.stderr)
        try rig.ctl("release")
        XCTAssertTrue(rig.omnid.waitFor { _ in rig.assistantLines.count >= answers }, rig.omnid.stderr)
        XCTAssertTrue(rig.omnid.waitFor { $0.stderr.components(separatedBy: "LED state: ready").count > answers + 1 }, rig.omnid.stderr)
    }

    /// Holds the button until omni-sim has a second of the turn's audio.
    func imagelessTurn(_ rig: Rig, answers: Int) throws {
        let before = simLog(rig.simLogPath).filter { $0.type == "input_audio_buffer.append" }.count
        try rig.ctl("press")
        XCTAssertTrue(eventually { self.simLog(rig.simLogPath).filter { $0.type == "input_audio_buffer.append" }.count >= before + 10 })
        try rig.ctl("release")
        XCTAssertTrue(rig.omnid.waitFor { _ in rig.assistantLines.count >= answers }, rig.omnid.stderr)
        XCTAssertTrue(rig.omnid.waitFor { $0.stderr.components(separatedBy: "LED state: ready").count > answers + 1 }, rig.omnid.stderr)
    }

    /// The camera looks at something red for the first turn and at something blue for the
    /// second (the file camera lists its directory again at each turn's start).
    func testRedThenBlueFramesAreDescribed() throws {
        let fps = 2.0
        let rig = try makeRig(camera: "device = \"file:DIR/frames\"\nfps = \(fps)")
        let frames = "\(rig.dir)/frames"
        try FileManager.default.removeItem(atPath: "\(frames)/2-blue.jpg")
        try turn(rig, untilImages: 1, answers: 1)
        try FileManager.default.removeItem(atPath: "\(frames)/1-red.jpg")
        try FileManager.default.copyItem(atPath: Binaries.repoRoot.appendingPathComponent("Tests/Fixtures/camera/blue-640x480.jpg").path,
                                         toPath: "\(frames)/2-blue.jpg")
        let first = simLog(rig.simLogPath).filter { $0.type == "_sim.image" }.count
        try turn(rig, untilImages: first + 2, answers: 2)  // a longer turn: at least two frames
        rig.omnid.terminateAndWait()

        let log = simLog(rig.simLogPath)
        XCTAssertEqual(log.filter { $0.dir == "server" && $0.type == "error" }.count, 0, "omni-sim refused something")
        let t = turns(log)
        XCTAssertEqual(t.count, 2)
        guard t.count == 2 else { return }
        XCTAssertTrue(!t[0].colours.isEmpty && t[0].colours.allSatisfy { $0 == "red" }, "\(t[0].colours)")
        XCTAssertTrue(t[1].colours.count >= 2 && t[1].colours.allSatisfy { $0 == "blue" }, "\(t[1].colours)")
        // Each transcript names exactly what its turn carried.
        for (i, turn) in t.enumerated() {
            let expected = turn.colours.count == 1 ? "I see one 640×480 image, mostly \(turn.colours[0])."
                : "I see \(turn.colours.count) images: " + turn.colours.map { "640×480 mostly \($0)" }.joined(separator: ", then ") + "."
            XCTAssertEqual(rig.assistantLines.dropFirst(i).first, expected)
            XCTAssertFalse(turn.imageBeforeAudio, "turn \(i): an image before the turn's first audio")
            // The rate, on omni-sim's clock: never closer than the gate's slack allows, and no
            // more than the turn's length allows.
            for (a, b) in zip(turn.imageMs, turn.imageMs.dropFirst()) {
                XCTAssertGreaterThanOrEqual(b - a, 750 / fps, "turn \(i): images \(turn.imageMs)")
            }
            // The first frame waits for the turn's first audio, so the first gap may be short
            // by that wait: at most one frame per 0.75 interval after the first.
            let length = (turn.commitMs - (turn.firstAppendMs ?? turn.commitMs)) / 1000
            XCTAssertLessThanOrEqual(Double(turn.imageMs.count), (length * fps / 0.75).rounded(.down) + 1, "turn \(i): \(turn.imageMs)")
            // Frames ride with the commit: none after it.
            XCTAssertTrue(turn.imageMs.allSatisfy { $0 <= turn.commitMs })
        }
        // The privacy LED: on and off once per turn, in that order.
        let led = rig.omnid.stderr.split(separator: "\n").compactMap { l in l.range(of: "camera LED: ").map { String(l[$0.upperBound...].prefix(3)) } }
        XCTAssertEqual(led.map { $0.trimmingCharacters(in: .whitespaces) }, ["on", "off", "on", "off"], rig.omnid.stderr)
        XCTAssertEqual(rig.omnid.stderr.components(separatedBy: " went with the turn").count - 1, 2, rig.omnid.stderr)
    }

    /// `when = "look"`: an ordinary turn carries no frame (and the camera stays off); a turn
    /// after the look gesture (here `omnid ctl double-press`) does.
    func testLookTurnsOnly() throws {
        let rig = try makeRig(camera: "device = \"file:DIR/frames\"\nwhen = \"look\"", boardFile: """
            [audio]
            period_ms = 20
            [button]
            backend = "none"
            double_press = "look"
            [leds]
            backend = "virtual"
            [camera]
            privacy_led = "virtual"
            """)
        try imagelessTurn(rig, answers: 1)
        XCTAssertEqual(rig.assistantLines, ["I see no image."])
        XCTAssertFalse(rig.omnid.stderr.contains("camera LED: on"), "the camera ran for an ordinary turn")
        try rig.ctl("double-press")
        try turn(rig, untilImages: 1, answers: 2)
        let look = rig.assistantLines.dropFirst(1).first ?? ""
        XCTAssertTrue(look.hasPrefix("I see one 640×480 image, mostly red") || look.hasPrefix("I see 2 images: 640×480 mostly red"), look)
        XCTAssertTrue(rig.omnid.stderr.contains("went with the look turn"), rig.omnid.stderr)
        // The gesture was used up: the next turn is ordinary again.
        try imagelessTurn(rig, answers: 3)
        XCTAssertEqual(rig.assistantLines.dropFirst(2).first, "I see no image.")
        rig.omnid.terminateAndWait()
        XCTAssertEqual(turns(simLog(rig.simLogPath)).map { $0.colours.isEmpty }, [true, false, true])
    }

    /// No camera there: every turn still goes out (audio only), and the problem is logged once.
    func testAMissingCameraLeavesTurnsAudioOnly() throws {
        let rig = try makeRig(camera: "device = \"file:DIR/no-such-dir\"")
        try imagelessTurn(rig, answers: 1)
        try imagelessTurn(rig, answers: 2)
        XCTAssertEqual(rig.assistantLines, ["I see no image.", "I see no image."])
        XCTAssertEqual(rig.omnid.stderr.components(separatedBy: "unavailable").count - 1, 1, rig.omnid.stderr)
        XCTAssertEqual(rig.omnid.stderr.components(separatedBy: "went out without a frame").count - 1, 2, rig.omnid.stderr)
    }

    /// The camera disappears mid-turn (its directory is moved away, as a USB camera is
    /// unplugged): logged once, turns go on with audio only, and when it returns it is used again.
    func testUnpluggedCameraIsLoggedOnceAndReopened() throws {
        let rig = try makeRig(camera: "device = \"file:DIR/frames\"")
        let frames = "\(rig.dir)/frames", away = "\(rig.dir)/away"
        try rig.ctl("press")
        XCTAssertTrue(eventually { self.simLog(rig.simLogPath).filter { $0.type == "_sim.image" }.count >= 1 })
        try FileManager.default.moveItem(atPath: frames, toPath: away)
        XCTAssertTrue(rig.omnid.waitFor { $0.stderr.contains("camera lost") }, rig.omnid.stderr)
        try rig.ctl("release")
        XCTAssertTrue(rig.omnid.waitFor { _ in rig.assistantLines.count >= 1 }, rig.omnid.stderr)
        XCTAssertTrue(rig.omnid.waitFor { $0.stderr.components(separatedBy: "LED state: ready").count > 2 }, rig.omnid.stderr)
        try imagelessTurn(rig, answers: 2)
        XCTAssertEqual(rig.assistantLines.dropFirst(1).first, "I see no image.")
        try FileManager.default.moveItem(atPath: away, toPath: frames)
        let seen = simLog(rig.simLogPath).filter { $0.type == "_sim.image" }.count
        try turn(rig, untilImages: seen + 1, answers: 3)
        XCTAssertTrue(rig.assistantLines.dropFirst(2).first?.contains("mostly") == true, "\(rig.assistantLines)")
        let err = rig.omnid.stderr
        XCTAssertEqual(err.components(separatedBy: "camera lost").count - 1, 1, err)
        XCTAssertEqual(err.components(separatedBy: "unavailable").count - 1, 0, "the failed reopens are not logged again: \(err)")
        XCTAssertEqual(err.components(separatedBy: " is back").count - 1, 1, err)
    }

    /// Hands-free: frames go with the speech omni-sim's VAD hears (speech_started → the end of
    /// speech), and the answer names them. As in OmnidVADTests, omnid starts on a silent
    /// microphone and a reload points it at the speech once it streams.
    func testVADTurnCarriesFrames() throws {
        let simLogPath = NSTemporaryDirectory() + "camera-vad-\(UUID().uuidString).jsonl"
        let sim = try SimProcess(arguments: ["--answer", "describe", "--speed", "8", "--log-audio", "false", "--log", simLogPath])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-camera-vad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(dir)/frames", withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: simLogPath)
        }
        try FileManager.default.copyItem(atPath: Binaries.repoRoot.appendingPathComponent("Tests/Fixtures/camera/red-640x480.jpg").path,
                                         toPath: "\(dir)/frames/red.jpg")
        // 1 s silence, 2 s of "speech" (a 300 Hz tone), then silence.
        let handsFree = try HandsFreeReload(dir: dir, url: sim.url, speechSeconds: 2, totalSeconds: 6, extra: """
            [camera]
            device = "file:\(dir)/frames"
            fps = 2
            """)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-camera-vad"
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", handsFree.configPath], environment: env)
        defer { omnid.terminateAndWait() }
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("LED state: ready") }, omnid.stderr)
        XCTAssertFalse(omnid.stderr.contains("camera LED: on"), "the camera runs only during speech")
        try handsFree.switchToSpeech(omnid)
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("assistant: ") && $0.stderr.contains("LED state: ready", after: "LED state: speaking") },
                      omnid.stderr)
        omnid.terminateAndWait()
        let log = simLog(simLogPath)
        XCTAssertEqual(log.filter { $0.dir == "server" && $0.type == "error" }.count, 0)
        let started = try XCTUnwrap(log.first { $0.type == "input_audio_buffer.speech_started" }?.tMs)
        let stopped = try XCTUnwrap(log.first { $0.type == "input_audio_buffer.speech_stopped" }?.tMs)
        let images = log.filter { $0.dir == "client" && $0.type == "input_image_buffer.append" }.map(\.tMs)
        XCTAssertFalse(images.isEmpty)
        // omnid starts the camera when it hears speech_started; frames stop with the speech (one
        // in flight while the service decides the speech is over may land after it).
        XCTAssertTrue(images.allSatisfy { $0 > started }, "\(images) vs speech from \(started)")
        XCTAssertLessThanOrEqual(images.filter { $0 > stopped }.count, 1, "\(images) vs speech to \(stopped)")
        let answer = omnid.stderr.split(separator: "\n").first { $0.contains("assistant: ") }.map(String.init) ?? ""
        XCTAssertTrue(answer.contains("mostly red"), answer)
        let led = omnid.stderr.components(separatedBy: "camera LED: on").count - 1
        XCTAssertEqual(led, 1, omnid.stderr)
    }
}
