// Every input the config path reads has a size, and every size has a limit with a clear error:
// a hostile or broken file is rejected, never truncated, never allowed to exhaust the stack.

public enum ConfigLimits {
    /// omni.conf and board files. The documented omni.conf is ~6 KiB; 1 MiB leaves room for long
    /// instructions while keeping a mistaken `file = "/dev/zero"`-style read bounded.
    public static let maxFileBytes = 1 << 20
    /// An API key file or credential: a DashScope key is ~35 bytes.
    public static let maxKeyFileBytes = 4096
    /// Tables, dotted keys and arrays inside each other. This config needs 3 (`[leds.listening]`
    /// holding an array); toml++ and the tree walk recurse per level, so a 20,000-level header
    /// would overflow the stack.
    public static let maxNestingDepth = 16
    /// Any string value except `session.instructions`.
    public static let maxStringBytes = 4096
    /// `session.instructions`: a system prompt; the service takes a few thousand tokens.
    public static let maxInstructionsBytes = 64 * 1024
}

/// Why a file could not be read, in words for a `FILE: …` message.
public struct FileReadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Linux's limit on a Unix socket path: `sun_path` is 108 bytes including the NUL.
public enum UnixSocketPath {
    public static let maxBytes = 107
    /// The control server binds `PATH.new` first and renames it over PATH (no window without a socket).
    public static let temporarySuffix = ".new"
}
