import TOMLKit

// The one place TOMLKit is used: parse a TOML file and turn it into plain, Sendable values with
// the line each key was written on, so every later error can say FILE:LINE: key.

public enum ConfigScalar: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case array([ConfigScalar])
    /// Nested tables below a section (e.g. `[leds.listening]`) are kept as key/value lists.
    case table([String: ConfigScalar])

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .bool(let b): "\(b)"
        case .array(let a): "[\(a.map(\.description).joined(separator: ", "))]"
        case .table(let t): "{\(t.keys.sorted().map { "\($0) = \(t[$0]!)" }.joined(separator: ", "))}"
        }
    }

    var typeName: String {
        switch self {
        case .string: "a string"
        case .int: "an integer"
        case .double: "a number"
        case .bool: "true or false"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A value plus where it came from.
public struct ConfigEntry: Sendable, Equatable {
    public var value: ConfigScalar
    public var file: String
    public var line: Int
}

/// `section → key → entry` for one file. Top-level keys live in section "".
public struct ConfigDocument: Sendable, Equatable {
    public var file: String
    public var sections: [String: [String: ConfigEntry]]
    /// Line of each `[section]` header.
    public var sectionLines: [String: Int]

    public static func parse(text: String, file: String) throws(ConfigError) -> ConfigDocument {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(file: file, line: e.source.begin.line, key: nil,
                              message: "not valid TOML: \(e.description)")
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "not valid TOML: \(error)")
        }
        let lines = KeyLineIndex(text: text)
        var doc = ConfigDocument(file: file, sections: [:], sectionLines: lines.sectionLines)
        for key in table.keys {
            guard let value = table[key] else { continue }
            if let sub = value.table {
                var entries: [String: ConfigEntry] = [:]
                for k in sub.keys {
                    guard let v = sub[k], let scalar = convert(v) else { continue }
                    entries[k] = ConfigEntry(value: scalar, file: file, line: lines.line(section: key, key: k))
                }
                doc.sections[key, default: [:]].merge(entries) { _, new in new }
            } else if let scalar = convert(value) {
                doc.sections["", default: [:]][key] =
                    ConfigEntry(value: scalar, file: file, line: lines.line(section: "", key: key))
            }
        }
        return doc
    }

    private static func convert(_ v: any TOMLValueConvertible) -> ConfigScalar? {
        switch v.type {
        case .string: return v.string.map(ConfigScalar.string)
        case .int: return v.int.map(ConfigScalar.int)
        case .double: return v.double.map(ConfigScalar.double)
        case .bool: return v.bool.map(ConfigScalar.bool)
        case .array:
            guard let a = v.array else { return nil }
            return .array(a.compactMap { convert($0) })
        case .table:
            guard let t = v.table else { return nil }
            var out: [String: ConfigScalar] = [:]
            for k in t.keys { if let x = t[k], let c = convert(x) { out[k] = c } }
            return .table(out)
        default:
            // Dates and times have no meaning in this config; report them as strings.
            return .string(v.debugDescription)
        }
    }
}

/// TOMLKit does not expose where a key was written, so find it in the text: the line of
/// `key =` inside `[section]`. Good enough for the flat files this project uses.
struct KeyLineIndex {
    var sectionLines: [String: Int] = [:]
    private var keyLines: [String: Int] = [:]

    init(text: String) {
        var section = ""
        var lineNo = 0
        var inMultiline = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.trimmingSpaces()
            // Skip the body of multi-line strings so their text is not mistaken for keys.
            let quotes = line.components3("\"\"\"") + line.components3("'''")
            if inMultiline {
                if quotes % 2 == 1 { inMultiline = false }
                continue
            }
            if line.hasPrefix("[") && !line.hasPrefix("[[") {
                let name = line.dropFirst().prefix { $0 != "]" }
                section = String(name).trimmingSpaces()
                if sectionLines[section] == nil { sectionLines[section] = lineNo }
                continue
            }
            if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                var key = String(line[..<eq]).trimmingSpaces()
                if key.hasPrefix("\"") && key.hasSuffix("\"") && key.count >= 2 { key = String(key.dropFirst().dropLast()) }
                let id = section + "\u{0}" + key
                if keyLines[id] == nil { keyLines[id] = lineNo }
            }
            if quotes % 2 == 1 { inMultiline = true }
        }
    }

    func line(section: String, key: String) -> Int {
        keyLines[section + "\u{0}" + key] ?? sectionLines[section] ?? 1
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }

    /// How many times `needle` occurs.
    func components3(_ needle: String) -> Int {
        var count = 0
        var rest = Substring(self)
        while let r = rest.range(of: needle) {
            count += 1
            rest = rest[r.upperBound...]
        }
        return count
    }
}
