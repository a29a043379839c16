import XCTest
@testable import OmniCore
import OmniTOML
import RealtimeProtocol

final class ConfigTests: XCTestCase {
    /// An in-memory file system for the loader.
    func env(_ files: [String: String], modes: [String: UInt32] = [:], vars: [String: String] = [:]) -> ConfigEnvironment {
        ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { files[$0] }, fileMode: { modes[$0] }, environment: vars, boardDirectory: "/boards")
    }

    func load(_ text: String, files: [String: String] = [:], modes: [String: UInt32] = [:],
              vars: [String: String] = [:]) throws -> LoadedConfig {
        try ConfigLoader.load(text: text, path: "/etc/omni.conf", env: env(files, modes: modes, vars: vars))
    }

    func error(_ text: String, files: [String: String] = [:], vars: [String: String] = [:]) -> String {
        do {
            _ = try load(text, files: files, vars: vars)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testEmptyFileGivesDefaults() throws {
        let c = try load("").config
        XCTAssertEqual(c.service.effectiveURL, "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime")
        XCTAssertEqual(c.service.model, "qwen3-omni-flash-realtime")
        XCTAssertEqual(c.session.voice, "Cherry")
        XCTAssertEqual(c.session.mode, .pushToTalk)
        XCTAssertNil(c.apiKey)
    }

    func testFullFile() throws {
        let text = """
            [service]
            region = "cn"
            model = "qwen3-omni-flash-realtime-2025-12-01"
            [session]
            voice = "Ethan"
            instructions = '''
            You are a kitchen helper.
            Keep answers short.'''
            mode = "vad"
            vad_threshold = 0.2
            vad_silence_ms = 900
            vad_prefix_padding_ms = 500
            [audio]
            capture = "plughw:CARD=Device"
            period_ms = 10
            volume = 0.8
            [log]
            level = "debug"
            """
        let c = try load(text).config
        XCTAssertEqual(c.service.effectiveURL, "wss://dashscope.aliyuncs.com/api-ws/v1/realtime")
        XCTAssertEqual(c.session.instructions, "You are a kitchen helper.\nKeep answers short.")
        XCTAssertEqual(c.session.mode, .vad)
        XCTAssertEqual(c.audio.capture, "plughw:CARD=Device")
        XCTAssertEqual(c.audio.periodMs, 10)
        XCTAssertEqual(c.log.level, .debug)
        let s = c.sessionUpdate
        XCTAssertEqual(s.turnDetection.value?.threshold, 0.2)
        XCTAssertEqual(s.turnDetection.value?.silenceDurationMs, 900)
        XCTAssertEqual(s.voice, "Ethan")
    }

    func testPushToTalkSendsNullTurnDetection() throws {
        let s = try load("[session]\nmode = \"push-to-talk\"\n").config.sessionUpdate
        XCTAssertEqual(s.turnDetection, .null)
        let wire = ClientEvent(eventID: "e1", .sessionUpdate(s)).encoded()
        XCTAssertTrue(wire.contains("\"turn_detection\":null"), wire)
    }

    /// The guide's output format spelling; instructions always on the wire, "" when emptied
    /// (a reload that empties them must clear the service's prompt, not leave it).
    func testSessionUpdateSendsPCM24AndEmptiedInstructions() throws {
        let s = try load("[session]\ninstructions = \"\"\n").config.sessionUpdate
        XCTAssertEqual(s.outputAudioFormat, "pcm24")
        XCTAssertEqual(s.instructions, "")
        let wire = ClientEvent(eventID: "e1", .sessionUpdate(s)).encoded()
        XCTAssertTrue(wire.contains("\"instructions\":\"\""), wire)
    }

    /// The service's rules as the session plans around them; tests against a sim with short
    /// timers shorten them, and the renewal margins follow.
    func testServiceRulesAndTheirRenewalMargins() throws {
        let d = try load("").config
        XCTAssertEqual(d.service.idleCloseS, 300)
        XCTAssertEqual(d.service.sessionCapS, 7200)
        XCTAssertEqual(d.service.maxMessageKB, 1024)
        var s = SessionSettings()
        s.adoptServiceRules(idleClose: .seconds(300), sessionCap: .seconds(7200))
        XCTAssertEqual(s.idleRenewalMargin, .seconds(30))
        XCTAssertEqual(s.renewalMargin, .seconds(300))
        s.adoptServiceRules(idleClose: .seconds(3), sessionCap: .seconds(40))
        XCTAssertEqual(s.idleRenewalMargin, .milliseconds(600))
        XCTAssertEqual(s.renewalMargin, .seconds(30))
        let c = try load("[service]\nidle_close_s = 3\nsession_cap_s = 40\n").config
        XCTAssertEqual(c.service.idleCloseS, 3)
        XCTAssertEqual(c.service.sessionCapS, 40)
        XCTAssertTrue(c.effectiveTOML.contains("idle_close_s = 3"))
        XCTAssertEqual(error("[service]\nidle_close_s = -1\n").contains("idle_close_s"), true)
    }

    func testUnknownKeyNamesFileLineAndSuggestion() {
        XCTAssertEqual(error("[session]\nvoice = \"Cherry\"\nvoise = \"Ethan\"\n"),
                       "/etc/omni.conf:3: session.voise: unknown key; did you mean voice?")
    }

    func testUnknownSection() {
        XCTAssertEqual(error("\n[sesion]\nvoice = \"Cherry\"\n"),
                       "/etc/omni.conf:2: unknown section [sesion]; did you mean [session]?")
    }

    func testWrongType() {
        XCTAssertEqual(error("[audio]\nperiod_ms = \"20\"\n"),
                       "/etc/omni.conf:2: audio.period_ms: must be a whole number from 5 to 100, got \"20\"")
    }

    func testOutOfRange() {
        XCTAssertEqual(error("[session]\nvad_silence_ms = 100\n"),
                       "/etc/omni.conf:2: session.vad_silence_ms: 100 is out of range; allowed 200 to 6000")
        XCTAssertEqual(error("[session]\nvad_threshold = 1.5\n"),
                       "/etc/omni.conf:2: session.vad_threshold: 1.5 is out of range; allowed -1.0 to 1.0")
    }

    func testBadChoice() {
        XCTAssertEqual(error("[session]\nmode = \"push_to_talk\"\n"),
                       "/etc/omni.conf:2: session.mode: \"push_to_talk\" is not allowed; allowed: \"push-to-talk\", \"toggle\", \"vad\" (did you mean \"push-to-talk\"?)")
    }

    func testBadModalities() {
        XCTAssertEqual(error("[session]\nmodalities = [\"audio\"]\n"),
                       "/etc/omni.conf:2: session.modalities: must be [\"text\"] or [\"text\", \"audio\"]")
    }

    func testTOMLSyntaxErrorHasLine() {
        let e = error("[session]\nvoice = \"Cherry\n")
        XCTAssertTrue(e.hasPrefix("/etc/omni.conf:2: not valid TOML"), e)
    }

    func testKeyOutsideSection() {
        XCTAssertEqual(error("voice = \"Cherry\"\n"),
                       "/etc/omni.conf:1: voice: keys belong in a section such as [service] or [session]")
    }

    func testUnlistedVoiceIsAWarning() throws {
        let l = try load("[session]\nvoice = \"Chery\"\n")
        XCTAssertEqual(l.config.session.voice, "Chery")
        XCTAssertEqual(l.warnings.map(\.description),
                       ["/etc/omni.conf:2: session.voice: \"Chery\" is not a voice listed for qwen3-omni-flash-realtime; the service may still accept it (did you mean Cherry?)"])
    }

    func testAPIKeyPrecedenceAndRedaction() throws {
        let files = ["/etc/omni.key": "sk-file-key\n", "/run/creds/dashscope-api-key": "sk-cred-key"]
        let conf = "[service]\napi_key_file = \"/etc/omni.key\"\n"
        XCTAssertEqual(try load(conf, files: files).config.apiKey?.value, "sk-file-key")
        XCTAssertEqual(try load(conf, files: files, vars: ["CREDENTIALS_DIRECTORY": "/run/creds"]).config.apiKey?.value,
                       "sk-cred-key")
        let envWins = try load(conf, files: files, vars: ["CREDENTIALS_DIRECTORY": "/run/creds", "DASHSCOPE_API_KEY": "sk-env"])
        XCTAssertEqual(envWins.config.apiKey?.value, "sk-env")
        XCTAssertEqual("\(envWins.config.apiKey!)", "<redacted>")
        XCTAssertFalse(envWins.config.effectiveTOML.contains("sk-env"))
        XCTAssertFalse("\(envWins.config)".contains("sk-env"))
    }

    func testWorldReadableKeyFileWarns() throws {
        let l = try load("[service]\napi_key_file = \"/k\"\n", files: ["/k": "sk-x"], modes: ["/k": 0o644])
        XCTAssertEqual(l.warnings.map(\.description),
                       ["/etc/omni.conf:2: service.api_key_file: /k is readable by other users; run chmod 600 (or 640 root:omnid)"])
    }

    func testMissingKeyFile() {
        XCTAssertEqual(error("[service]\napi_key_file = \"/nope\"\n"),
                       "/etc/omni.conf:2: service.api_key_file: /nope cannot be read (no such file); it must hold the DashScope API key")
    }

    func testPrecedenceDefaultsBoardConfEnvironment() throws {
        let board = """
            [board]
            description = "test board"
            [audio]
            capture = "plughw:CARD=Board"
            playback = "plughw:CARD=Board"
            period_ms = 10
            [log]
            level = "warning"
            """
        let conf = "[board]\nname = \"test\"\n[audio]\nplayback = \"plughw:CARD=USB\"\n"
        let c = try load(conf, files: ["/boards/test.toml": board], vars: ["OMNID_LOG_LEVEL": "debug"]).config
        XCTAssertEqual(c.audio.capture, "plughw:CARD=Board")     // board over default
        XCTAssertEqual(c.audio.playback, "plughw:CARD=USB")      // omni.conf over board
        XCTAssertEqual(c.audio.periodMs, 10)
        XCTAssertEqual(c.audio.prerollMs, 60)                    // default
        XCTAssertEqual(c.log.level, .debug)                      // environment over both
        XCTAssertEqual(c.sources.boardFile, "/boards/test.toml")
    }

    func testMissingBoard() {
        XCTAssertEqual(error("[board]\nname = \"nosuch\"\n"),
                       "/etc/omni.conf:2: board.name: board file /boards/nosuch.toml cannot be read (no such file). Board names are looked up in /boards; set OMNID_BOARD_DIR to another folder of board files (a checkout's board/), or give the file itself with [board] file = \"PATH\"")
    }

    func testErrorInBoardFileNamesBoardFile() {
        XCTAssertEqual(error("[board]\nname = \"b\"\n", files: ["/boards/b.toml": "[audio]\nperiod = 10\n"]),
                       "/boards/b.toml:2: audio.period: unknown key; did you mean period_ms?")
    }

    // MARK: Lines come from toml++'s source positions

    func testMultiLineStringsDoNotConfuseLines() throws {
        let text = """
            [session]
            instructions = \"\"\"
            voise = "not a key, just text"
            [audio]
            \"\"\"
            voice = "Ethan"
            voise = "Ethan"
            """
        let doc = try ConfigDocument.parse(text: text, file: "/etc/omni.conf", syntax: TOMLPlusPlus.parse)
        XCTAssertEqual(doc.sections["session"]?["instructions"],
                       ConfigEntry(value: .string("voise = \"not a key, just text\"\n[audio]\n"), file: "/etc/omni.conf", line: 2))
        XCTAssertEqual(doc.sections["session"]?["voice"]?.line, 6)
        XCTAssertNil(doc.sections["audio"])
        XCTAssertEqual(error(text), "/etc/omni.conf:7: session.voise: unknown key; did you mean voice?")
    }

    func testNestedTablesKeepTheirHeaderLines() throws {
        let text = """
            [leds]
            lines = ["GPIO22", "GPIO23"]

            [leds.listening]
            color = "blue"
            pattern = { on_ms = 100, off_ms = 900 }

            [button.timing]
            long_press_ms = 800
            held = 1979-05-27T07:32:00Z
            """
        let doc = try ConfigDocument.parse(text: text, file: "/boards/b.toml", syntax: TOMLPlusPlus.parse)
        XCTAssertEqual(doc.sections["leds"]?["lines"], ConfigEntry(value: .array([.string("GPIO22"), .string("GPIO23")]), file: "/boards/b.toml", line: 2))
        XCTAssertEqual(doc.sections["leds"]?["listening"],
                       ConfigEntry(value: .table(["color": .string("blue"), "pattern": .table(["on_ms": .int(100), "off_ms": .int(900)])]),
                                   file: "/boards/b.toml", line: 4))
        XCTAssertEqual(doc.sectionLines, ["leds": 1, "button": 8])   // [button] is implied by [button.timing]
        XCTAssertEqual(doc.sections["button"]?["timing"]?.value,
                       .table(["long_press_ms": .int(800), "held": .string("1979-05-27T07:32:00Z")]))
    }

    func testTOMLErrorCarriesParserMessageAndLine() {
        XCTAssertEqual(error("[session]\nvoice = \"Cherry\"\n\nvoice = \"Ethan\"\n"),
                       "/etc/omni.conf:4: not valid TOML: Error while parsing key-value pair: cannot redefine existing string 'voice'")
    }
}
