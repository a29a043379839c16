#if canImport(Glibc)
import Glibc
#endif

// The control socket's line protocol (`omnid ctl`): a Unix stream socket; the client sends one
// command per line and gets one line back for each.
//
//   press | release | tap          → ok            (a software button, with gesture detection)
//   long-press | double-press      → ok            (the gesture itself, for tests)
//   status                         → {"state":"ready",…}   (ApplianceStatus.json)
//   anything else                  → error: …

public enum ControlCommand: String, Sendable, Equatable, CaseIterable {
    case press
    case release
    case tap
    case longPress = "long-press"
    case doublePress = "double-press"
    case status

    /// Parses one request line (case and surrounding blanks ignored; `long_press`/`longpress` too).
    public init?(line: String) {
        let word = String(controlTrimmed(line).lowercased().map { $0 == "_" ? "-" : $0 })
        switch word {
        case "longpress": self = .longPress
        case "doublepress": self = .doublePress
        default:
            guard let c = ControlCommand(rawValue: word) else { return nil }
            self = c
        }
    }

    public static var usage: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A control-socket failure, phrased for the person at the shell.
public struct ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// `text` without leading and trailing blanks (space, tab, CR, LF).
func controlTrimmed(_ text: String) -> String {
    var s = Substring(text)
    while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" || f == "\r\n" { s = s.dropFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" || l == "\r\n" { s = s.dropLast() }
    return String(s)
}

func controlErrnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
