// A config file as plain, Sendable values with the line the parser recorded for each key, so every
// later error can say FILE:LINE: key. The parsing itself is behind `TOMLParse` (TOMLSyntax.swift):
// OmniCore stays pure Swift, and the toml++ parser lives in the OmniTOML target.

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

    public static func parse(text: String, file: String, syntax: TOMLParse) throws(ConfigError) -> ConfigDocument {
        let root: TOMLNode
        switch syntax(text) {
        case .success(let node): root = node
        case .failure(let e):
            throw ConfigError(file: file, line: e.line, key: nil, message: "not valid TOML: \(e.message)")
        }
        var doc = ConfigDocument(file: file, sections: [:], sectionLines: [:])
        for (key, node) in root.children {
            if case .table(let children) = node.value {
                // A [section]: its keys become entries, each with the line toml++ gives its value
                // (for a nested table such as [leds.listening], the line of that header).
                doc.sectionLines[key] = node.line
                var entries: [String: ConfigEntry] = [:]
                for (k, child) in children { entries[k] = ConfigEntry(value: child.scalar, file: file, line: child.line) }
                doc.sections[key, default: [:]].merge(entries) { _, new in new }
            } else {
                doc.sections["", default: [:]][key] = ConfigEntry(value: node.scalar, file: file, line: node.line)
            }
        }
        return doc
    }
}

