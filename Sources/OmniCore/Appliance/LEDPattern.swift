// LED patterns: a pure function of (state, time since the state began) → on/off per line, plus
// when that next changes, so a driver can sleep until then instead of polling. One line is a
// single LED; two or three lines are the red, green (and blue) channels of a bi-colour/RGB LED.

/// How an LED blinks.
public enum LEDPattern: Sendable, Equatable, CustomStringConvertible {
    case off
    case solid
    /// On for `on`, off for `off`, repeating; starts on.
    case blink(on: Duration, off: Duration)
    /// Two short pulses (100 ms on, 150 ms off, 100 ms on), then dark until `period` is over.
    case heartbeat(period: Duration)

    static let pulse = Duration.milliseconds(100)
    static let gap = Duration.milliseconds(150)

    /// Whether the LED is lit `elapsed` after the pattern began.
    public func isOn(after elapsed: Duration) -> Bool {
        let e = max(.zero, elapsed)
        switch self {
        case .off: return false
        case .solid: return true
        case .blink(let on, let off):
            if on <= .zero { return false }
            if off <= .zero { return true }
            return Self.phase(e, in: on + off) < on
        case .heartbeat(let period):
            let p = Self.phase(e, in: max(period, Self.minHeartbeat))
            return p < Self.pulse || (p >= Self.pulse + Self.gap && p < Self.pulse * 2 + Self.gap)
        }
    }

    /// The first time after `elapsed` at which `isOn` changes; nil for a steady pattern.
    public func nextChange(after elapsed: Duration) -> Duration? {
        let e = max(.zero, elapsed)
        switch self {
        case .off, .solid: return nil
        case .blink(let on, let off):
            if on <= .zero || off <= .zero { return nil }
            let cycle = on + off
            let p = Self.phase(e, in: cycle)
            return e + (p < on ? on - p : cycle - p)
        case .heartbeat(let period):
            let cycle = max(period, Self.minHeartbeat)
            let p = Self.phase(e, in: cycle)
            let edges = [Self.pulse, Self.pulse + Self.gap, Self.pulse * 2 + Self.gap, cycle]
            let next = edges.first { $0 > p } ?? cycle
            return e + (next - p)
        }
    }

    static let minHeartbeat = Duration.milliseconds(400)

    /// `elapsed` modulo `cycle`, exactly (integer nanoseconds).
    static func phase(_ elapsed: Duration, in cycle: Duration) -> Duration {
        let c = nanos(cycle)
        guard c > 0 else { return .zero }
        return .nanoseconds(nanos(elapsed) % c)
    }

    static func nanos(_ d: Duration) -> Int64 {
        d.wholeNanoseconds
    }

    public var description: String {
        switch self {
        case .off: "off"
        case .solid: "solid"
        case .blink(let on, let off): "blink \(ApplianceMachine.ms(on))/\(ApplianceMachine.ms(off))"
        case .heartbeat(let p): "heartbeat \(ApplianceMachine.ms(p))"
        }
    }
}

/// Which channels of an RGB LED are lit. A single LED lights for any colour but `off`.
public struct LEDColor: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var red: Bool
    public var green: Bool
    public var blue: Bool

    public init(red: Bool, green: Bool, blue: Bool) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let off = LEDColor(red: false, green: false, blue: false)
    public static let red = LEDColor(red: true, green: false, blue: false)
    public static let green = LEDColor(red: false, green: true, blue: false)
    public static let blue = LEDColor(red: false, green: false, blue: true)
    public static let yellow = LEDColor(red: true, green: true, blue: false)
    public static let cyan = LEDColor(red: false, green: true, blue: true)
    public static let magenta = LEDColor(red: true, green: false, blue: true)
    public static let white = LEDColor(red: true, green: true, blue: true)

    public static let named: [(String, LEDColor)] = [
        ("off", .off), ("red", .red), ("green", .green), ("blue", .blue), ("yellow", .yellow),
        ("cyan", .cyan), ("magenta", .magenta), ("white", .white),
    ]

    public init?(name: String) {
        guard let c = Self.named.first(where: { $0.0 == name.lowercased() })?.1 else { return nil }
        self = c
    }

    public var description: String { Self.named.first { $0.1 == self }?.0 ?? "custom" }

    /// The levels of `lines` output lines: one line = any channel; otherwise red, green, blue.
    public func levels(lines: Int) -> [Bool] {
        switch lines {
        case ..<1: return []
        case 1: return [red || green || blue]
        default:
            let rgb = [red, green, blue]
            return (0..<lines).map { $0 < 3 ? rgb[$0] : false }
        }
    }
}

/// A state's look: a pattern in a colour.
public struct LEDLook: Sendable, Equatable, CustomStringConvertible {
    public var pattern: LEDPattern
    public var color: LEDColor

    public init(_ pattern: LEDPattern, _ color: LEDColor = .white) {
        self.pattern = pattern
        self.color = color
    }

    public var description: String { "\(pattern) \(color)" }

    /// Line levels `elapsed` after the look began.
    public func levels(after elapsed: Duration, lines: Int) -> [Bool] {
        pattern.isOn(after: elapsed) ? color.levels(lines: lines) : LEDColor.off.levels(lines: lines)
    }
}

/// A look for every appliance state.
public struct LEDScheme: Sendable, Equatable {
    public var looks: [ApplianceState: LEDLook]

    public init(looks: [ApplianceState: LEDLook]) {
        self.looks = looks
    }

    public func look(for state: ApplianceState) -> LEDLook {
        looks[state] ?? Self.singleDefaults.looks[state] ?? LEDLook(.off)
    }

    /// The defaults for one LED: every state tells by its rhythm alone.
    public static let singleDefaults = LEDScheme(looks: [
        .connecting: LEDLook(.blink(on: .milliseconds(500), off: .milliseconds(500))),
        .ready: LEDLook(.heartbeat(period: .milliseconds(1500))),
        .listening: LEDLook(.solid),
        .thinking: LEDLook(.blink(on: .milliseconds(200), off: .milliseconds(200))),
        .speaking: LEDLook(.blink(on: .milliseconds(700), off: .milliseconds(100))),
        .muted: LEDLook(.blink(on: .milliseconds(100), off: .milliseconds(1900))),
        .offline: LEDLook(.blink(on: .milliseconds(1000), off: .milliseconds(1000))),
        .error: LEDLook(.blink(on: .milliseconds(80), off: .milliseconds(80))),
    ])

    /// The defaults for an RGB (or red/green) LED: colour and rhythm.
    public static let colorDefaults = LEDScheme(looks: [
        .connecting: LEDLook(.blink(on: .milliseconds(500), off: .milliseconds(500)), .yellow),
        .ready: LEDLook(.heartbeat(period: .milliseconds(1500)), .green),
        .listening: LEDLook(.solid, .blue),
        .thinking: LEDLook(.blink(on: .milliseconds(200), off: .milliseconds(200)), .cyan),
        .speaking: LEDLook(.solid, .green),
        .muted: LEDLook(.solid, .magenta),
        .offline: LEDLook(.blink(on: .milliseconds(1000), off: .milliseconds(1000)), .red),
        .error: LEDLook(.blink(on: .milliseconds(100), off: .milliseconds(100)), .red),
    ])

    public static func defaults(lines: Int) -> LEDScheme {
        lines >= 2 ? colorDefaults : singleDefaults
    }

    /// Line levels for `state`, `elapsed` after it began.
    public func levels(for state: ApplianceState, after elapsed: Duration, lines: Int) -> [Bool] {
        look(for: state).levels(after: elapsed, lines: lines)
    }

    /// When the levels for `state` next change after `elapsed`; nil while they stay put.
    public func nextChange(for state: ApplianceState, after elapsed: Duration) -> Duration? {
        look(for: state).pattern.nextChange(after: elapsed)
    }
}
