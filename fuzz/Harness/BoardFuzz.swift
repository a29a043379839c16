import OmniCore

// A board file (board/*.toml), named by a fixed omni.conf, through the loader and then
// BoardIOConfig.parse as omnid's start-up does. Properties: every LED look the file sets gives
// a pattern whose next change lies in the future (a driver sleeping until then must not spin).
enum BoardFuzz {
    static let boardPath = "/fuzz/board.toml"
    static let config = "[board]\nfile = \"\(boardPath)\"\n"

    static func run(_ bytes: UnsafeBufferPointer<UInt8>) throws(FuzzFinding) {
        let text = utf8Text(bytes)
        let env = fuzzConfigEnvironment(readFile: { $0 == boardPath ? text : nil })
        let loaded: LoadedConfig
        do { loaded = try ConfigLoader.load(text: config, path: ConfigFuzz.path, env: env) } catch { return }
        let board: BoardIOConfig
        do { board = try BoardIOConfig.parse(loaded.config.board) } catch { return }
        _ = ApplianceSettings(config: loaded.config, board: board)
        let lines = board.leds.lines.count
        for state in ApplianceState.allCases {
            let look = board.leds.scheme.look(for: state)
            for ms in [0, 1, 199, 1_000, 61_000] {
                let t = Duration.milliseconds(ms)
                _ = board.leds.scheme.levels(for: state, after: t, lines: lines)
                if let next = board.leds.scheme.nextChange(for: state, after: t), next <= t {
                    throw FuzzFinding(.board, "\(state) look \(look): next change \(next) is not after \(t)")
                }
            }
        }
    }
}
