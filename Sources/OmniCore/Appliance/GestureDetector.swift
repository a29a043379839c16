// Debounce and gesture detection for one button: a pure, clock-injected state machine. Whoever
// owns the button (the GPIO thread, the keyboard or the control socket) feeds it raw edges with
// their times and calls `advance(to:)` at `nextDeadline`; it answers with ButtonEvents.
//
// Rules:
// - Debounce: a new level counts once it has been stable for `debounce` (20 ms by default);
//   shorter glitches and contact bounce are ignored. The press/release is reported when that
//   time has passed, so a press is seen `debounce` after the first edge.
// - `.press` / `.release` for every debounced change.
// - `.longPress` once, while still held, `longPress` (3 s) after the press began.
// - `.tap` for a release less than `tapMax` (400 ms) after its press, when that press was
//   neither a long press nor the second press of a double press. With double-press detection
//   on, the tap is held back until `doublePressWindow` (400 ms) has passed without a new press;
//   otherwise it is reported with the release.
// - `.doublePress` at a press that begins within `doublePressWindow` after a tap's release (the
//   held-back tap is then not reported). It comes right after that press's `.press`.
// Press times are measured from the first edge of the new level, not from its confirmation.

public struct GestureSettings: Sendable, Equatable {
    public var debounce: Duration
    public var longPress: Duration
    public var tapMax: Duration
    public var doublePressWindow: Duration
    /// Off: taps are reported at once and `.doublePress` never comes.
    public var detectDoublePress: Bool

    public init(debounce: Duration = .milliseconds(20), longPress: Duration = .seconds(3),
                tapMax: Duration = .milliseconds(400), doublePressWindow: Duration = .milliseconds(400),
                detectDoublePress: Bool = false) {
        self.debounce = debounce
        self.longPress = longPress
        self.tapMax = tapMax
        self.doublePressWindow = doublePressWindow
        self.detectDoublePress = detectDoublePress
    }
}

/// A ButtonEvent and when the detector decided it.
public struct GestureEvent: Sendable, Equatable, CustomStringConvertible {
    public var event: ButtonEvent
    public var at: Duration

    public init(_ event: ButtonEvent, at: Duration) {
        self.event = event
        self.at = at
    }

    public var description: String { "\(event.rawValue)@\(ApplianceMachine.ms(at))ms" }
}

public struct GestureDetector: Sendable {
    public let settings: GestureSettings

    /// The debounced level.
    public private(set) var isPressed: Bool
    /// The latest raw level and when it began.
    private var raw: Bool
    private var rawSince: Duration
    /// When the current (debounced) press began, and whether it already was a long press.
    private var pressBegan: Duration = .zero
    private var longFired = false
    /// This press is the second of a double press: no tap, no long press.
    private var pressIsSecond = false
    /// A tap held back to see whether a second press follows: the first press's release time.
    private var heldTapReleasedAt: Duration?

    /// - Parameter initiallyPressed: the line's level when monitoring starts (a button held at
    ///   boot does not count as a press).
    public init(settings: GestureSettings = GestureSettings(), initiallyPressed: Bool = false, at start: Duration = .zero) {
        self.settings = settings
        isPressed = initiallyPressed
        raw = initiallyPressed
        rawSince = start
        longFired = initiallyPressed  // no long press for a press we did not see begin
        pressIsSecond = initiallyPressed
    }

    /// A raw edge: the line went to `pressed` at `time` (kernel timestamp). Edges must come in
    /// time order; a repeated level (a lost edge in between) is taken as a new edge.
    public mutating func edge(pressed: Bool, at time: Duration) -> [GestureEvent] {
        var out = advance(to: time)
        if pressed != raw {
            raw = pressed
            rawSince = time
        } else if pressed != isPressed {
            // The opposite edge was lost (queue overflow): the level is still changing now.
            rawSince = time
        }
        out += advance(to: time)
        return out
    }

    /// Processes everything due at or before `now`.
    public mutating func advance(to now: Duration) -> [GestureEvent] {
        var out: [GestureEvent] = []
        while let (due, step) = nextStep(), due <= now {
            apply(step, at: due, into: &out)
        }
        return out
    }

    /// When `advance(to:)` must be called next; nil when nothing is pending.
    public var nextDeadline: Duration? { nextStep()?.0 }

    private enum Step {
        case settle, long, tap
    }

    private func nextStep() -> (Duration, Step)? {
        var best: (Duration, Step)?
        func consider(_ t: Duration, _ s: Step) {
            if best == nil || t < best!.0 { best = (t, s) }
        }
        if raw != isPressed { consider(rawSince + settings.debounce, .settle) }
        if isPressed && !longFired && !pressIsSecond {
            let due = pressBegan + settings.longPress
            // A release that began before the long-press time decides first.
            if raw == isPressed || rawSince >= due { consider(due, .long) }
        }
        if let released = heldTapReleasedAt, !isPressed {
            let due = released + settings.doublePressWindow
            // A new press that began inside the window is resolved first (it may be a double press).
            if raw == isPressed || rawSince > due { consider(due, .tap) }
        }
        return best
    }

    private mutating func apply(_ step: Step, at time: Duration, into out: inout [GestureEvent]) {
        switch step {
        case .settle:
            isPressed = raw
            if raw {
                pressBegan = rawSince
                longFired = false
                pressIsSecond = false
                out.append(GestureEvent(.press, at: time))
                if let released = heldTapReleasedAt {
                    heldTapReleasedAt = nil
                    if rawSince - released <= settings.doublePressWindow {
                        pressIsSecond = true
                        out.append(GestureEvent(.doublePress, at: time))
                    } else {
                        out.append(GestureEvent(.tap, at: time))  // late: the window had passed
                    }
                }
            } else {
                out.append(GestureEvent(.release, at: time))
                let held = rawSince - pressBegan
                if !longFired && !pressIsSecond && held < settings.tapMax {
                    if settings.detectDoublePress {
                        heldTapReleasedAt = rawSince
                    } else {
                        out.append(GestureEvent(.tap, at: time))
                    }
                }
                pressIsSecond = false
            }
        case .long:
            longFired = true
            out.append(GestureEvent(.longPress, at: time))
        case .tap:
            heldTapReleasedAt = nil
            out.append(GestureEvent(.tap, at: time))
        }
    }
}
