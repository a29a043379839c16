import XCTest
@testable import OmniCore
import OmniTOML

/// `[audio] room`: the simulated room is parsed, printed back, and refused with a real device.
final class RoomConfigTests: XCTestCase {
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

    func testBoardFileDevicesSatisfyTheRoom() throws {
        let board = "[audio]\ncapture = \"file:/var/lib/omnid/mic.wav\"\nplayback = \"file:/var/lib/omnid/spk.wav\"\n"
        let c = try load("[board]\nname = \"virtual\"\n[audio]\nroom = \"seed=3\"\n", files: ["/boards/virtual.toml": board]).config
        XCTAssertEqual(c.audio.room?.seed, 3)
    }
}
