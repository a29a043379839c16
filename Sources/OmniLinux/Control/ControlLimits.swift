// The control socket's limits. Each one keeps a misbehaving or merely forgotten client from
// costing the others their `omnid ctl`: a silent connection is closed, the oldest idle one makes
// room for a new one, a line cannot grow without bound, and a controller that does not answer
// a status request costs the client an error, not a hang.

public struct ControlLimits: Sendable, Equatable {
    /// `omnid ctl` sends its line right after connecting, so 5 s without a complete line means
    /// a stuck or forgotten client (socat left open, a script that died half-way); it is long
    /// enough for a person typing one command into socat.
    public static let defaultIdleTimeout = Duration.seconds(5)
    /// Far more than anyone uses at once (a script, a monitor, a person); each costs one file
    /// descriptor and at most a line and a reply of memory. When full, the connection idle the
    /// longest is closed for the new one, so silent clients never lock `omnid ctl` out.
    public static let defaultMaxClients = 16
    /// The longest command is 12 bytes (`double-press`); 256 leaves room for blanks and CR and
    /// bounds what one client can make the server buffer.
    public static let defaultMaxLineBytes = 256
    /// A healthy controller answers within microseconds; 2 s is below `omnid ctl`'s own 3 s so
    /// the client reads a clear error (controller busy or shutting down) instead of timing out.
    public static let defaultStatusTimeout = Duration.seconds(2)
    /// Connections the kernel queues until the control thread accepts them. It accepts every
    /// queued one each time it wakes and never blocks on anything else, so a small queue does.
    static let listenBacklog: Int32 = 16

    /// How long a client may go without sending a complete line or reading its reply.
    public var idleTimeout: Duration
    /// Connections served at once.
    public var maxClients: Int
    /// The longest request line, without its newline.
    public var maxLineBytes: Int
    /// How long a `status` request waits for the controller.
    public var statusTimeout: Duration

    public init(idleTimeout: Duration = Self.defaultIdleTimeout, maxClients: Int = Self.defaultMaxClients,
                maxLineBytes: Int = Self.defaultMaxLineBytes, statusTimeout: Duration = Self.defaultStatusTimeout) {
        self.idleTimeout = idleTimeout
        self.maxClients = max(1, maxClients)
        self.maxLineBytes = max(16, maxLineBytes)
        self.statusTimeout = statusTimeout
    }
}

extension ControlClient {
    /// How long `omnid ctl` waits to connect and for the answer: the server's status timeout
    /// (2 s) plus slack, and short enough that a script notices a wedged daemon.
    public static let defaultTimeout = Duration.seconds(3)
}

/// poll()'s timeout in milliseconds until `deadline`, rounded up so the deadline has passed when
/// poll returns; -1 (wait for I/O only) when there is no deadline, so an idle thread never wakes.
func ioPollTimeout(until deadline: Duration?, now: Duration) -> Int32 {
    guard let deadline else { return -1 }
    if deadline <= now { return 0 }
    return Int32(clamping: (deadline - now).millisecondsRoundedUp)
}

/// `d` for a message: "3 s", "0.25 s".
func controlSecondsText(_ d: Duration) -> String {
    let s = d.components.seconds
    let ms = d.wholeMilliseconds - s * 1000
    if ms == 0 { return "\(s) s" }
    var frac = String(ms + 1000).dropFirst()  // three digits
    while frac.last == "0" { frac = frac.dropLast() }
    return "\(s).\(frac) s"
}
