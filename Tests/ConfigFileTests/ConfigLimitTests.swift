import XCTest
@testable import OmniCore
import OmniTOML

/// Every config input has a limit and a clear FILE:LINE error (issue 16): deep nesting is refused
/// before toml++ recurses, oversize files are refused rather than cut, long strings are refused.
final class ConfigLimitTests: XCTestCase {
    func env(_ files: [String: String]) -> ConfigEnvironment {
        ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { files[$0] }, boardDirectory: "/boards")
    }

    func loadError(_ text: String, extra: [String: String] = [:]) -> String? {
        var files = extra
        files["/etc/omni.conf"] = text
        do {
            _ = try ConfigLoader.load(path: "/etc/omni.conf", env: env(files))
            return nil
        } catch {
            return error.description
        }
    }

    /// The reported crash: a 40 KB file whose table header nests 20,000 levels deep segfaulted.
    func testTwentyThousandLevelHeaderIsRefusedNotACrash() {
        let header = "[" + Array(repeating: "a", count: 20_000).joined(separator: ".") + "]\nx = 1\n"
        let e = loadError("[board]\nname = \"x\"\n" + header)
        XCTAssertEqual(e, "/etc/omni.conf:3: not valid TOML: nested more than 16 levels deep (tables, dotted keys or arrays); this config needs at most 3")
    }

    func testDeepDottedKeysArraysAndInlineTablesAreRefused() {
        let dotted = Array(repeating: "k", count: 5_000).joined(separator: ".") + " = 1\n"
        XCTAssertTrue(loadError(dotted)?.contains("/etc/omni.conf:1: not valid TOML: nested more than 16 levels") ?? false)
        let arrays = "x = " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        XCTAssertTrue(loadError(arrays)?.contains("nested more than 16 levels") ?? false)
        let inline = "x = " + String(repeating: "{a = ", count: 50_000) + "1" + String(repeating: "}", count: 50_000) + "\n"
        XCTAssertTrue(loadError(inline)?.contains("nested more than 16 levels") ?? false)
    }

    /// What the guard must not refuse: numbers, times and quoted keys with dots; strings and
    /// comments full of brackets; the deepest shapes the board files use.
    func testOrdinaryShapesPassTheGuard() {
        let text = """
            # [a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r] in a comment
            pi = 3.14159
            when = 1979-05-27T07:32:00.999999Z
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q" = 1
            s = "[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{ ...................."
            m = '''
            [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ . . . . . . . . . . . . . . . . . . . .
            '''
            [leds.listening]
            lines = [[1, 2.5], [3, 4.25]]
            [[x.y.z]]
            v = {a = {b = [1.0, 2.0]}}
            """
        XCTAssertNil(TOMLNestingGuard.check(text))
        if case .failure(let e) = TOMLPlusPlus.parse(text) { XCTFail("\(e)") }
    }

    func testOversizeConfigIsRefusedNotTruncated() {
        // A valid file with a key after the 1 MiB mark: it used to be read cut at 1 MiB and pass.
        let filler = "# " + String(repeating: "x", count: 1 << 20) + "\n"
        let e = loadError(filler + "[session]\nvoice = \"Cherry\"\n")
        XCTAssertEqual(e, "/etc/omni.conf: cannot be used as the config file: is \((1 << 20) + 4 + 26) bytes; the limit is 1048576 bytes")
    }

    func testOversizeBoardAndKeyFilesAreRefused() {
        let bigBoard = "# " + String(repeating: "x", count: 1 << 20) + "\n"
        let e = loadError("[board]\nname = \"big\"\n", extra: ["/boards/big.toml": bigBoard])
        XCTAssertTrue(e?.hasPrefix("/etc/omni.conf:2: board.name: board file /boards/big.toml cannot be read (is ") ?? false, e ?? "loaded")
        let k = loadError("[service]\napi_key_file = \"/k\"\n", extra: ["/k": String(repeating: "k", count: 5000)])
        XCTAssertEqual(k, "/etc/omni.conf:2: service.api_key_file: /k cannot be read (is 5000 bytes; the limit is 4096 bytes); it must hold the DashScope API key")
    }

    func testLongStringsAreRefusedWithTheirKey() {
        let e = loadError("[session]\nvoice = \"\(String(repeating: "v", count: 5000))\"\n")
        XCTAssertEqual(e, "/etc/omni.conf:2: session.voice: is 5000 bytes long; at most 4096 bytes are allowed")
        // Instructions may be long (a system prompt), up to 64 KiB.
        XCTAssertNil(loadError("[session]\ninstructions = \"\(String(repeating: "i", count: 60_000))\"\n"))
        let long = loadError("[session]\ninstructions = \"\(String(repeating: "i", count: 70_000))\"\n")
        XCTAssertEqual(long, "/etc/omni.conf:2: session.instructions: is 70000 bytes long; at most 65536 bytes are allowed")
    }
}

/// `check-config` validates everything `run` validates (issue 16): what the transport or the
/// control server would refuse at run time is a FILE:LINE error here.
final class ConfigRunParityTests: XCTestCase {
    func error(_ text: String) -> String? {
        let env = ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: { $0 == "/etc/omni.conf" ? text : nil })
        do {
            _ = try ConfigLoader.load(path: "/etc/omni.conf", env: env)
            return nil
        } catch {
            return error.description
        }
    }

    func testPlainWebSocketToAnotherHostIsAConfigError() {
        XCTAssertEqual(error("[service]\nurl = \"ws://192.0.2.7:8080/rt\"\n"),
                       "/etc/omni.conf:2: service.url: plain ws:// to 192.0.2.7, which is not this machine, would send the API key unencrypted; use wss://, or set [service] allow_insecure = true for a trusted test network")
        XCTAssertNil(error("[service]\nurl = \"ws://192.0.2.7:8080/rt\"\nallow_insecure = true\n"))
        XCTAssertNil(error("[service]\nurl = \"ws://127.0.0.1:8080/rt\"\n"))
        XCTAssertNil(error("[service]\nurl = \"wss://example.com/rt\"\n"))
    }

    func testURLThatTheTransportCannotParseIsAConfigError() {
        XCTAssertEqual(error("[service]\nurl = \"wss://host:99999/\"\n"),
                       "/etc/omni.conf:2: service.url: wss://host:99999/: port must be 1...65535")
        XCTAssertEqual(error("[service]\nurl = \"wss://user:pw@host/\"\n"),
                       "/etc/omni.conf:2: service.url: wss://user:pw@host/: user:password@ in the URL is not supported")
    }

    func testControlSocketPathLongerThanSunPathIsAConfigError() {
        let long = "/run/" + String(repeating: "s", count: 100)
        XCTAssertEqual(error("[control]\nsocket = \"\(long)\"\n"),
                       "/etc/omni.conf:2: control.socket: is 105 bytes; a control socket path may be at most 103 bytes (Unix socket address limit)")
        XCTAssertNil(error("[control]\nsocket = \"/run/\(String(repeating: "s", count: 98))\"\n"))
    }
}
