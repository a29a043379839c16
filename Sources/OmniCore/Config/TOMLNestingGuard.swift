// A pre-parse scan that bounds how deeply a TOML text nests, before any recursive code (toml++'s
// parser and destructors, the shim's walk, the Swift tree) sees it. It over-estimates on purpose:
// depth at a point = the enclosing [header]'s depth + open brackets/braces + unquoted dots in the
// key being read. Dots between two digits (1.5, 12:00:00.5) are numbers, not keys. Strings
// (all four TOML kinds) and comments are skipped. A legitimate config reaches 3.

public enum TOMLNestingGuard {
    /// The first place the text nests deeper than `limit`, as a syntax error; nil when it does not.
    public static func check(_ text: String, limit: Int = ConfigLimits.maxNestingDepth) -> TOMLSyntaxError? {
        var scan = Scan(limit: limit)
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            i = scan.step(bytes, i)
            if let line = scan.tooDeepAtLine {
                return TOMLSyntaxError(line: line, message: "nested more than \(limit) levels deep (tables, dotted keys or arrays); "
                                       + "this config needs at most 3")
            }
        }
        return nil
    }

    private struct Scan {
        let limit: Int
        var line = 1
        var brackets = 0
        var keyDots = 0
        var headerDepth = 0
        /// Inside a `[header]` line (brackets opened at the start of a line, outside any value).
        var inHeader = false
        var tooDeepAtLine: Int?

        init(limit: Int) { self.limit = limit }

        mutating func note() {
            let depth = (inHeader ? 0 : headerDepth) + brackets + keyDots
            if depth > limit, tooDeepAtLine == nil { tooDeepAtLine = line }
        }

        /// Consumes one token starting at `i`; returns the index after it.
        mutating func step(_ b: [UInt8], _ i: Int) -> Int {
            let c = b[i]
            switch c {
            case UInt8(ascii: "\n"):
                line += 1
                if inHeader {  // an unterminated header: toml++ reports it; stop counting it
                    inHeader = false
                    brackets = 0
                }
                if brackets == 0 { keyDots = 0 }
                return i + 1
            case UInt8(ascii: "#"):
                var j = i
                while j < b.count, b[j] != UInt8(ascii: "\n") { j += 1 }
                return j
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                return skipString(b, i)
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if c == UInt8(ascii: "["), brackets == 0, !inHeader, atLineStart(b, i) {
                    inHeader = true
                    keyDots = 0
                }
                brackets += 1
                note()
                return i + 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                brackets = max(0, brackets - 1)
                if inHeader, brackets == 0 {  // `]` of `[a.b]`, or the second `]` of `[[a.b]]`
                    headerDepth = keyDots + 1
                    inHeader = false
                    keyDots = 0
                }
                return i + 1
            case UInt8(ascii: "."):
                let digitBefore = i > 0 && isDigit(b[i - 1])
                let digitAfter = i + 1 < b.count && isDigit(b[i + 1])
                if !(digitBefore && digitAfter) {
                    keyDots += 1
                    note()
                }
                return i + 1
            case UInt8(ascii: "="), UInt8(ascii: ","):
                keyDots = 0
                return i + 1
            default:
                return i + 1
            }
        }

        func atLineStart(_ b: [UInt8], _ i: Int) -> Bool {
            var j = i - 1
            while j >= 0 {
                if b[j] == UInt8(ascii: "\n") { return true }
                if b[j] != UInt8(ascii: " "), b[j] != UInt8(ascii: "\t"), b[j] != UInt8(ascii: "\r") { return false }
                j -= 1
            }
            return true
        }

        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

        /// Skips a basic or literal string, single- or multi-line; counts the newlines inside.
        mutating func skipString(_ b: [UInt8], _ i: Int) -> Int {
            let quote = b[i]
            let triple = i + 2 < b.count && b[i + 1] == quote && b[i + 2] == quote
            var j = i + (triple ? 3 : 1)
            while j < b.count {
                let c = b[j]
                if c == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") { j += 2; continue }
                if c == UInt8(ascii: "\n") {
                    line += 1
                    if !triple { return j }  // unterminated: let the parser report it
                }
                if c == quote {
                    if !triple { return j + 1 }
                    if j + 2 < b.count, b[j + 1] == quote, b[j + 2] == quote { return j + 3 }
                }
                j += 1
            }
            return j
        }
    }
}
