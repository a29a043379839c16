import XCTest
@testable import OmniCore
import OmniTOML

/// `[audio]` echo keys: the canceller's switches, and the simulated room (parsed, printed back,
/// refused with a real device).
final class EchoConfigTests: XCTestCase {
    let files = "[audio]\ncapture = \"file:/tmp/mic.wav\"\nplayback = \"file:/tmp/spk.wav\"\n"

    func load(_ text: String, files: [String: String] = [:]) throws -> LoadedConfig {
        let env = ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { files[$0] }, boardDirectory: "/boards")
        return try ConfigLoader.load(text: text, path: "/etc/omni.conf", env: env)
    }

    func error(_ text: String, files: [String: String] = [:]) -> String {
        do {
            _ = try load(text, files: files)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testRoomIsParsedAndPrintedBack() throws {
        let c = try load(files + "room = \"delay_ms=60, gain_db=-6,rt60_ms=300,noise_db=-60,drift_ppm=50,seed=7\"\n").config
        let room = try XCTUnwrap(c.audio.room)
        XCTAssertEqual(room.delayMs, 60)
        XCTAssertEqual(room.gainDB, -6)
        XCTAssertEqual(room.rt60Ms, 300)
        XCTAssertEqual(room.noiseDB, -60)
        XCTAssertEqual(room.driftPPM, 50)
        XCTAssertEqual(room.seed, 7)
        XCTAssertEqual(room.drrDB, RoomSpec().drrDB, "an omitted field keeps its default")
        let printed = c.effectiveTOML
        XCTAssertTrue(printed.contains("room = \"delay_ms=60,gain_db=-6,rt60_ms=300,drr_db=3,noise_db=-60,drift_ppm=50,seed=7\""), printed)
        // What check-config prints loads back to the same room.
        XCTAssertEqual(try load(files + "room = \"\(room.description)\"\n").config.audio.room, room)
    }

    func testEmptyRoomIsTheDefaultRoom() throws {
        XCTAssertEqual(try load(files + "room = \"\"\n").config.audio.room, RoomSpec())
        XCTAssertNil(try load(files).config.audio.room)
    }

    func testBadFieldIsNamed() {
        XCTAssertEqual(error(files + "room = \"delay_ms=sixty\"\n"),
                       "/etc/omni.conf:4: audio.room: delay_ms: \"sixty\" is not a number; allowed 0 to 1000 "
                        + "(as in \"delay_ms=60,gain_db=-6,rt60_ms=300,noise_db=-60,drift_ppm=0,seed=7\")")
        XCTAssertTrue(error(files + "room = \"rt60=300\"\n").contains("audio.room: rt60: unknown field; did you mean rt60_ms?"))
        XCTAssertTrue(error(files + "room = \"drift_ppm=5000\"\n").contains("audio.room: drift_ppm: 5000 is out of range; allowed -1000 to 1000"))
        XCTAssertTrue(error(files + "room = \"seed=-1\"\n").contains("audio.room: seed: \"-1\" is not a whole number ≥ 0"))
        XCTAssertTrue(error(files + "room = \"gain_db=-6,gain_db=-3\"\n").contains("audio.room: gain_db: given twice"))
        XCTAssertTrue(error(files + "room = \"ir=/x.wav,rt60_ms=300\"\n").contains("audio.room: rt60_ms: describes the synthetic reverberation"))
        XCTAssertTrue(error(files + "room = \"delay_ms\"\n").contains("audio.room: delay_ms: needs a value"))
        XCTAssertTrue(error(files + "room = 60\n").contains("audio.room: must be a string"))
    }

    func testRoomNeedsTheFileBackendOnBothSides() {
        XCTAssertEqual(error("[audio]\nroom = \"delay_ms=60\"\ncapture = \"plughw:CARD=Device\"\nplayback = \"file:/tmp/spk.wav\"\n"),
                       "/etc/omni.conf:2: audio.room: a simulated room needs the file: backend on both sides, but capture is "
                        + "\"plughw:CARD=Device\"; set capture = \"file:PATH.wav\" (the virtual board does) or remove room")
        XCTAssertTrue(error("[audio]\nroom = \"\"\ncapture = \"file:/tmp/mic.wav\"\n").contains("but playback is \"default\""))
    }

    func testImpulseResponseFileMustBeReadable() throws {
        XCTAssertEqual(error(files + "room = \"ir=/rooms/kitchen.wav\"\n"),
                       "/etc/omni.conf:4: audio.room: ir: /rooms/kitchen.wav cannot be read (no such file); "
                        + "it must be a WAV file holding an impulse response")
        let c = try load(files + "room = \"ir=/rooms/kitchen.wav,gain_db=-3\"\n", files: ["/rooms/kitchen.wav": "RIFF…"]).config
        XCTAssertEqual(c.audio.room?.irFile, "/rooms/kitchen.wav")
    }

    func testBoardFileDevicesSatisfyTheRoom() throws {
        let board = "[audio]\ncapture = \"file:/var/lib/omnid/mic.wav\"\nplayback = \"file:/var/lib/omnid/spk.wav\"\n"
        let c = try load("[board]\nname = \"virtual\"\n[audio]\nroom = \"seed=3\"\n", files: ["/boards/virtual.toml": board]).config
        XCTAssertEqual(c.audio.room?.seed, 3)
    }

    func testEchoCancellationKeys() throws {
        let defaults = try load("").config
        XCTAssertEqual(defaults.audio.echoCancel, .auto)
        XCTAssertFalse(defaults.echoCancelActive, "auto is off in push-to-talk")
        XCTAssertTrue(try load("[session]\nmode = \"vad\"\n").config.echoCancelActive, "auto is on in vad mode")
        XCTAssertFalse(try load("[session]\nmode = \"vad\"\n[audio]\necho_cancel = \"off\"\n").config.echoCancelActive)
        XCTAssertEqual(defaults.audio.echoFilterMs, 250)
        XCTAssertFalse(defaults.audio.noiseSuppression)
        XCTAssertEqual(defaults.audio.lookbackMs, 300)
        let c = try load("[audio]\necho_cancel = \"on\"\necho_filter_ms = 300\nnoise_suppression = true\nlookback_ms = 0\n").config
        XCTAssertEqual(c.audio.echoCancel, .on)
        XCTAssertTrue(c.echoCancelActive)
        XCTAssertEqual(c.audio.echoFilterMs, 300)
        XCTAssertTrue(c.audio.noiseSuppression)
        XCTAssertEqual(c.audio.lookbackMs, 0)
        XCTAssertTrue(c.effectiveTOML.contains("echo_cancel = \"on\"\necho_filter_ms = 300\nnoise_suppression = true\n"), c.effectiveTOML)
        XCTAssertTrue(c.effectiveTOML.contains("lookback_ms = 0\n"))
        // Configs from before "auto": true and false still mean on and off.
        XCTAssertEqual(try load("[audio]\necho_cancel = true\n").config.audio.echoCancel, .on)
        XCTAssertEqual(try load("[audio]\necho_cancel = false\n").config.audio.echoCancel, .off)
        XCTAssertEqual(error("[audio]\necho_filter_ms = 2000\n"),
                       "/etc/omni.conf:2: audio.echo_filter_ms: 2000 is out of range; allowed 100 to 500")
        XCTAssertTrue(error("[audio]\necho_cancel = \"yes\"\n")
                        .hasPrefix("/etc/omni.conf:2: audio.echo_cancel: \"yes\" is not allowed; allowed: \"auto\", \"on\", \"off\""))
        XCTAssertEqual(error("[audio]\necho_cancel = 1\n"),
                       "/etc/omni.conf:2: audio.echo_cancel: must be \"auto\", \"on\" or \"off\", got 1")
        XCTAssertEqual(error("[audio]\nlookback_ms = 2500\n"),
                       "/etc/omni.conf:2: audio.lookback_ms: 2500 is out of range; allowed 0 to 2000")
        XCTAssertTrue(error("[audio]\necho_cancell = true\n").contains("unknown key; did you mean echo_cancel?"))
    }

    func testReadySoundKey() throws {
        let defaults = try load("").config
        XCTAssertEqual(defaults.audio.readySound, .auto)
        XCTAssertTrue(defaults.effectiveTOML.contains("ready_sound = \"auto\"\n"), defaults.effectiveTOML)
        let off = try load("[audio]\nearcons = false\nready_sound = \"off\"\n").config
        XCTAssertEqual(off.audio.readySound, .off)
        XCTAssertTrue(off.effectiveTOML.contains("ready_sound = \"off\"\n"))
        // Independent of the earcons.
        XCTAssertEqual(try load("[audio]\nearcons = false\n").config.audio.readySound, .auto)
        XCTAssertEqual(try load(off.effectiveTOML).config.audio.readySound, .off, "check-config's output loads back")
        XCTAssertEqual(error("[audio]\nperiod_ms = 20\nready_sound = \"of\"\n"),
                       "/etc/omni.conf:3: audio.ready_sound: \"of\" is not allowed; allowed: \"auto\", \"off\" (did you mean \"off\"?)")
        XCTAssertEqual(error("[audio]\nready_sound = false\n"), "/etc/omni.conf:2: audio.ready_sound: must be a string, got false")
        XCTAssertTrue(error("[audio]\nready_sounds = \"off\"\n").contains("unknown key; did you mean ready_sound?"))
    }
}
