// The board file's [button] and [leds] sections, checked and typed. The config loader keeps them
// raw (OmniConfig.board.sections); this is where they get their meaning. Every error names the
// file, line and key.
//
//   [button]
//   backend = "gpio"          # gpio (default when `line` is set) | keyboard | none
//   chip = "gpiochip0"        # optional with a line name (then every chip is searched)
//   line = "GPIO17"           # a line name, or an offset (needs chip): line = 17
//   active_low = true         # pressed = low (button to ground with a pull-up)
//   bias = "pull-up"          # pull-up | pull-down | disable | as-is
//   debounce_ms = 20
//   long_press_ms = 3000
//   double_press_ms = 400     # window for the second press
//   tap_max_ms = 400
//   long_press = "reconnect"  # none | mute | reconnect | interrupt
//   double_press = "none"
//   min_turn_ms = 150         # shorter presses send nothing
//   max_turn_s = 60           # longer turns are committed automatically
//
//   [leds]
//   backend = "gpio"          # gpio (default when `lines` is set) | virtual (log only) | none
//   chip = "gpiochip0"
//   lines = ["GPIO22", "GPIO23", "GPIO24"]   # 1 line: single LED; 2–3: red, green[, blue]
//   active_low = false
//   listening = "solid blue"                  # per state: off | solid | blink ON/OFF | heartbeat [PERIOD], then a colour
//   thinking = { pattern = "blink", on_ms = 150, off_ms = 150, color = "cyan" }

/// Where a value was written, for messages.
public struct ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// `section.key`
    public var key: String

    public init(file: String, line: Int?, key: String) {
        self.file = file
        self.line = line
        self.key = key
    }

    public var description: String { line.map { "\(file):\($0): \(key)" } ?? "\(file): \(key)" }

    public func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, key: key, message: message)
    }
}

public enum GPIOBias: String, Sendable, Equatable, CaseIterable {
    case asIs = "as-is"
    case disable
    case pullUp = "pull-up"
    case pullDown = "pull-down"
}

/// One GPIO line as the board file names it: by name (optionally on one chip) or chip + offset.
public struct GPIOLineRef: Sendable, Equatable, CustomStringConvertible {
    public var chip: String?
    public var name: String?
    public var offset: Int?
    /// The board-file key it came from.
    public var location: ConfigLocation

    public init(chip: String?, name: String?, offset: Int?, location: ConfigLocation) {
        self.chip = chip
        self.name = name
        self.offset = offset
        self.location = location
    }

    public var description: String {
        if let name { return chip.map { "\(name) on \($0)" } ?? name }
        return "\(chip ?? "?") line \(offset ?? -1)"
    }
}

public struct ButtonBoardConfig: Sendable, Equatable {
    public enum Backend: String, Sendable, Equatable, CaseIterable {
        case gpio, keyboard, none
    }

    public var backend: Backend = .none
    public var line: GPIOLineRef?
    public var activeLow = true
    public var bias: GPIOBias = .pullUp
    public var gestures = GestureSettings()
    public var longPressAction: ApplianceGestureAction = .reconnect
    public var doublePressAction: ApplianceGestureAction = .none
    public var minTurn: Duration = .milliseconds(150)
    public var maxTurn: Duration = .seconds(60)

    public init() {}
}

public struct LEDBoardConfig: Sendable, Equatable {
    public enum Backend: String, Sendable, Equatable, CaseIterable {
        case gpio, virtual, none
    }

    public var backend: Backend = .virtual
    public var lines: [GPIOLineRef] = []
    public var activeLow = false
    public var scheme = LEDScheme.singleDefaults

    public init() {}
}

public struct BoardIOConfig: Sendable, Equatable {
    public var button = ButtonBoardConfig()
    public var leds = LEDBoardConfig()

    public init() {}

    public static let buttonKeys = [
        "backend", "chip", "line", "active_low", "bias", "debounce_ms", "long_press_ms", "double_press_ms",
        "tap_max_ms", "long_press", "double_press", "min_turn_ms", "max_turn_s",
    ]
    public static let ledKeys = ["backend", "chip", "lines", "active_low"] + ApplianceState.allCases.map(\.rawValue)

    /// Reads `board.sections["button"]` and `["leds"]`.
    public static func parse(_ board: OmniConfig.Board) throws(ConfigError) -> BoardIOConfig {
        let file = board.file ?? "(no board file)"
        var c = BoardIOConfig()
        let b = BoardSection(name: "button", entries: board.sections["button"] ?? [:], file: file)
        try b.checkKeys(buttonKeys)
        let lineRef = try b.lineRef(key: "line", chip: try b.string("chip"))
        c.button.line = lineRef
        if let v = try b.string("backend") {
            guard let backend = ButtonBoardConfig.Backend(rawValue: v) else {
                throw b.location("backend").error("must be one of \(ButtonBoardConfig.Backend.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(v)\"")
            }
            c.button.backend = backend
        } else {
            c.button.backend = lineRef == nil ? .none : .gpio
        }
        if c.button.backend == .gpio && lineRef == nil {
            throw b.location("line", near: "backend").error("is required with backend = \"gpio\" (a line name such as \"GPIO17\", or an offset with chip)")
        }
        if let v = try b.bool("active_low") { c.button.activeLow = v }
        if let v = try b.string("bias") {
            guard let bias = GPIOBias(rawValue: v) else {
                throw b.location("bias").error("must be one of \(GPIOBias.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(v)\"")
            }
            c.button.bias = bias
        }
        if let v = try b.int("debounce_ms", in: 0...500) { c.button.gestures.debounce = .milliseconds(v) }
        if let v = try b.int("long_press_ms", in: 500...30_000) { c.button.gestures.longPress = .milliseconds(v) }
        if let v = try b.int("double_press_ms", in: 100...2000) { c.button.gestures.doublePressWindow = .milliseconds(v) }
        if let v = try b.int("tap_max_ms", in: 50...2000) { c.button.gestures.tapMax = .milliseconds(v) }
        if let v = try b.int("min_turn_ms", in: 0...2000) { c.button.minTurn = .milliseconds(v) }
        if let v = try b.int("max_turn_s", in: 5...600) { c.button.maxTurn = .seconds(v) }
        if let a = try b.action("long_press") { c.button.longPressAction = a }
        if let a = try b.action("double_press") { c.button.doublePressAction = a }
        c.button.gestures.detectDoublePress = c.button.doublePressAction != .none

        let l = BoardSection(name: "leds", entries: board.sections["leds"] ?? [:], file: file)
        try l.checkKeys(ledKeys)
        let chip = try l.string("chip")
        c.leds.lines = try l.lineRefs(key: "lines", chip: chip)
        if c.leds.lines.count > 3 {
            throw l.location("lines").error("at most 3 lines (red, green, blue); \(c.leds.lines.count) given")
        }
        if let v = try l.string("backend") {
            guard let backend = LEDBoardConfig.Backend(rawValue: v) else {
                throw l.location("backend").error("must be one of \(LEDBoardConfig.Backend.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(v)\"")
            }
            c.leds.backend = backend
        } else {
            c.leds.backend = c.leds.lines.isEmpty ? .virtual : .gpio
        }
        if c.leds.backend == .gpio && c.leds.lines.isEmpty {
            throw l.location("lines", near: "backend").error("is required with backend = \"gpio\" (e.g. lines = [\"GPIO22\"])")
        }
        if let v = try l.bool("active_low") { c.leds.activeLow = v }
        var scheme = LEDScheme.defaults(lines: c.leds.lines.count)
        for state in ApplianceState.allCases {
            if let look = try l.look(state.rawValue) { scheme.looks[state] = look }
        }
        c.leds.scheme = scheme
        return c
    }
}

extension ApplianceSettings {
    /// The machine's settings from the config and the board file's [button] section.
    public init(config: OmniConfig, board: BoardIOConfig) {
        self.init(mode: config.session.mode, bargeIn: config.session.bargeIn, minTurn: board.button.minTurn,
                  maxTurn: board.button.maxTurn, longPressAction: board.button.longPressAction, doublePressAction: board.button.doublePressAction)
    }
}

/// Typed access to one raw board section.
private struct BoardSection {
    var name: String
    var entries: [String: ConfigEntry]
    var file: String

    /// Where `key` is; for a missing key, where `near` is (the key that made it necessary).
    func location(_ key: String, near: String? = nil) -> ConfigLocation {
        let e = entries[key] ?? near.flatMap { entries[$0] }
        return ConfigLocation(file: e?.file ?? file, line: e?.line, key: "\(name).\(key)")
    }

    func checkKeys(_ known: [String]) throws(ConfigError) {
        for key in entries.keys.sorted() where !known.contains(key) {
            var msg = "unknown key in [\(name)]"
            if let s = DidYouMean.suggest(key, among: known) { msg += "; did you mean \(s)?" }
            throw location(key).error(msg)
        }
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let e = entries[key] else { return nil }
        guard case .string(let s) = e.value else { throw location(key).error("must be a string, not \(e.value.typeName)") }
        return s
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let e = entries[key] else { return nil }
        guard case .bool(let b) = e.value else { throw location(key).error("must be true or false, not \(e.value.typeName)") }
        return b
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let e = entries[key] else { return nil }
        guard case .int(let i) = e.value else { throw location(key).error("must be an integer, not \(e.value.typeName)") }
        guard range.contains(i) else {
            throw location(key).error("must be between \(range.lowerBound) and \(range.upperBound), not \(i)")
        }
        return i
    }

    func action(_ key: String) throws(ConfigError) -> ApplianceGestureAction? {
        guard let v = try string(key) else { return nil }
        guard let a = ApplianceGestureAction(rawValue: v) else {
            throw location(key).error("must be one of \(ApplianceGestureAction.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(v)\"")
        }
        return a
    }

    func lineRef(key: String, chip: String?) throws(ConfigError) -> GPIOLineRef? {
        guard let e = entries[key] else { return nil }
        return try Self.ref(e.value, chip: chip, at: location(key))
    }

    func lineRefs(key: String, chip: String?) throws(ConfigError) -> [GPIOLineRef] {
        guard let e = entries[key] else { return [] }
        let at = location(key)
        if case .array(let items) = e.value {
            var refs: [GPIOLineRef] = []
            for item in items { refs.append(try Self.ref(item, chip: chip, at: at)) }
            return refs
        }
        return [try Self.ref(e.value, chip: chip, at: at)]
    }

    static func ref(_ v: ConfigScalar, chip: String?, at: ConfigLocation) throws(ConfigError) -> GPIOLineRef {
        switch v {
        case .string(let s) where !s.isEmpty:
            return GPIOLineRef(chip: chip, name: s, offset: nil, location: at)
        case .int(let i) where i >= 0:
            guard chip != nil else {
                throw at.error("a line offset (\(i)) needs `chip` in the same section (e.g. chip = \"gpiochip0\"), or use the line's name")
            }
            return GPIOLineRef(chip: chip, name: nil, offset: i, location: at)
        default:
            throw at.error("must be a line name such as \"GPIO17\" or an offset (with chip), not \(v)")
        }
    }

    /// A state's look: "blink 200/800 red" or { pattern = "blink", on_ms = 200, off_ms = 800, color = "red" }.
    func look(_ key: String) throws(ConfigError) -> LEDLook? {
        guard let e = entries[key] else { return nil }
        let at = location(key)
        switch e.value {
        case .string(let s): return try Self.parseLook(s, at: at)
        case .table(let t):
            for k in t.keys.sorted() where !["pattern", "on_ms", "off_ms", "period_ms", "color"].contains(k) {
                throw at.error("unknown field \(k); use pattern, on_ms, off_ms, period_ms, color")
            }
            guard case .string(let p)? = t["pattern"] else { throw at.error("needs pattern = \"off\" | \"solid\" | \"blink\" | \"heartbeat\"") }
            func ms(_ k: String, _ d: Int) throws(ConfigError) -> Int {
                guard let v = t[k] else { return d }
                guard case .int(let i) = v, (0...60_000).contains(i) else { throw at.error("\(k) must be an integer from 0 to 60000") }
                return i
            }
            var color = LEDColor.white
            if let c = t["color"] {
                guard case .string(let name) = c, let parsed = LEDColor(name: name) else {
                    throw at.error("color must be one of \(LEDColor.named.map(\.0).joined(separator: ", "))")
                }
                color = parsed
            }
            let pattern: LEDPattern
            switch p {
            case "off": pattern = .off
            case "solid": pattern = .solid
            case "blink": pattern = .blink(on: .milliseconds(try ms("on_ms", 500)), off: .milliseconds(try ms("off_ms", 500)))
            case "heartbeat": pattern = .heartbeat(period: .milliseconds(try ms("period_ms", 1500)))
            default: throw at.error("pattern must be off, solid, blink or heartbeat, not \"\(p)\"")
            }
            return LEDLook(pattern, color)
        default:
            throw at.error("must be a pattern such as \"blink 200/800 red\" or a table, not \(e.value.typeName)")
        }
    }

    static func parseLook(_ text: String, at: ConfigLocation) throws(ConfigError) -> LEDLook {
        let words = text.lowercased().split(separator: " ").map(String.init)
        guard let first = words.first else { throw at.error("is empty; use off, solid, blink ON/OFF or heartbeat [PERIOD], then a colour") }
        var rest = Array(words.dropFirst())
        var color = LEDColor.white
        if let last = rest.last, let c = LEDColor(name: last) {
            color = c
            rest.removeLast()
        }
        let pattern: LEDPattern
        switch first {
        case "off":
            pattern = .off
        case "solid":
            pattern = .solid
        case "blink":
            var on = 500, off = 500
            if let arg = rest.first {
                let parts = arg.split(separator: "/")
                guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= 0, a <= 60_000, b <= 60_000 else {
                    throw at.error("blink takes ON/OFF in milliseconds, e.g. \"blink 200/800\", not \"\(arg)\"")
                }
                (on, off) = (a, b)
                rest.removeFirst()
            }
            pattern = .blink(on: .milliseconds(on), off: .milliseconds(off))
        case "heartbeat":
            var period = 1500
            if let arg = rest.first {
                guard let p = Int(arg), (400...60_000).contains(p) else {
                    throw at.error("heartbeat takes a period of 400 to 60000 ms, not \"\(arg)\"")
                }
                period = p
                rest.removeFirst()
            }
            pattern = .heartbeat(period: .milliseconds(period))
        default:
            throw at.error("unknown pattern \"\(first)\"; use off, solid, blink ON/OFF or heartbeat [PERIOD], then a colour")
        }
        guard rest.isEmpty else {
            throw at.error("unexpected \"\(rest.joined(separator: " "))\"; colours are \(LEDColor.named.map(\.0).joined(separator: ", "))")
        }
        return LEDLook(pattern, color)
    }
}
