import OmniCore
import OmniTOML

// /etc/omni.conf through the same path as `omnid check-config`: the toml++ seam, ConfigLoader's
// validation and precedence, the board file it names, and the printed effective config.
// Properties:
//  - what check-config prints is TOML, and loading it again prints the same (a fixpoint: the
//    output is a config that means what it says);
//  - the board file's [button]/[leds] parse as omnid's start-up does (errors are fine).
enum ConfigFuzz {
    static let path = "/fuzz/omni.conf"
    static let boardDirectory = "/fuzz/boards"
    static let apiKeyPath = "/fuzz/api-key"

    /// Every `[board] name = "…"` resolves to this small board (the virtual board's keys plus a
    /// button and LED section), so a fuzzed omni.conf reaches the board-file merge.
    static let board = """
        [board]
        description = "fuzz board"
        [audio]
        capture = "file:/fuzz/mic.wav"
        playback = "file:/fuzz/speaker.wav"
        period_ms = 20
        [button]
        backend = "none"
        long_press = "mute"
        [leds]
        backend = "virtual"
        listening = "blink 200/800 green"
        """

    /// The files a fuzzed config can name: the board directory and one API key file.
    static func readFile(_ path: String) -> String? {
        if path.hasPrefix(boardDirectory + "/") { return board }
        if path == apiKeyPath { return "sk-fuzz\n" }
        return nil
    }

    static func run(_ bytes: UnsafeBufferPointer<UInt8>) throws(FuzzFinding) {
        let text = utf8Text(bytes)
        let env = fuzzConfigEnvironment(readFile: readFile)
        let loaded: LoadedConfig
        do { loaded = try ConfigLoader.load(text: text, path: path, env: env) } catch { return }
        _ = try? BoardIOConfig.parse(loaded.config.board)
        let printed = loaded.config.effectiveTOML
        if case .failure(let e) = TOMLPlusPlus.parse(printed) {
            throw FuzzFinding(.config, "check-config prints invalid TOML (line \(e.line ?? 0): \(e.message)):\n\(printed)")
        }
        let reloaded: LoadedConfig
        do { reloaded = try ConfigLoader.load(text: printed, path: path, env: env) } catch {
            throw FuzzFinding(.config, "check-config's output does not load again (\(error)):\n\(printed)")
        }
        guard reloaded.config.effectiveTOML == printed else {
            throw FuzzFinding(.config, "check-config's output is not a fixpoint:\n\(printed)\n---\n\(reloaded.config.effectiveTOML)")
        }
    }
}

/// The one place the harness builds a ConfigEnvironment, so a change to its API (a file-read
/// Result is planned) touches only this function.
func fuzzConfigEnvironment(readFile: @escaping @Sendable (String) -> String?) -> ConfigEnvironment {
    ConfigEnvironment(parseTOML: TOMLPlusPlus.parse, readFile: readFile, fileMode: { _ in 0o600 },
                      environment: [:], boardDirectory: ConfigFuzz.boardDirectory)
}
