import COmniShim

// The one place TOML is parsed: toml++ (through COmniShim's omni_toml.h) reads the file, and this
// turns it into plain, Sendable values with the line toml++ recorded for each key, so every later
// error can say FILE:LINE: key.

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
        let root: TOMLNode
        switch TOMLReader.read(text) {
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

/// One parsed TOML node and the line toml++ says it begins on.
private struct TOMLNode {
    enum Value {
        case scalar(ConfigScalar)
        case array([TOMLNode])
        case table([(key: String, node: TOMLNode)])
    }
    var value: Value
    var line: Int

    var children: [(key: String, node: TOMLNode)] {
        if case .table(let c) = value { return c }
        return []
    }

    var scalar: ConfigScalar {
        switch value {
        case .scalar(let s): s
        case .array(let a): .array(a.map(\.scalar))
        case .table(let t): .table(Dictionary(t.map { ($0.key, $0.node.scalar) }) { _, new in new })
        }
    }
}

/// Builds a `TOMLNode` tree from the shim's depth-first events.
private final class TOMLReader {
    struct Failure: Error {
        var line: Int?
        var message: String
    }

    /// An open table or array, collecting its children until its *_END event.
    private struct Frame {
        var key: String?
        var line: Int
        var isArray: Bool
        var children: [(key: String, node: TOMLNode)] = []

        var node: TOMLNode {
            TOMLNode(value: isArray ? .array(children.map(\.node)) : .table(children), line: line)
        }
    }

    /// The first frame is the document's root table.
    private var stack = [Frame(key: nil, line: 1, isArray: false)]
    private var failure: Failure?

    static func read(_ text: String) -> Result<TOMLNode, Failure> {
        let reader = TOMLReader()
        var text = text
        let ok = text.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                omni_toml_parse(chars.baseAddress, chars.count, { event, context in
                    guard let event, let context else { return }
                    Unmanaged<TOMLReader>.fromOpaque(context).takeUnretainedValue().handle(event.pointee)
                }, Unmanaged.passUnretained(reader).toOpaque())
            }
        }
        withExtendedLifetime(reader) {}
        guard ok, reader.stack.count == 1 else {
            return .failure(reader.failure ?? Failure(line: nil, message: "the TOML parser stopped early"))
        }
        return .success(reader.stack[0].node)
    }

    private func handle(_ e: omni_toml_event) {
        let key = e.key.map { Self.string($0, e.key_length) }
        let line = Int(e.line)
        switch e.kind {
        case OMNI_TOML_TABLE_BEGIN: stack.append(Frame(key: key, line: line, isArray: false))
        case OMNI_TOML_ARRAY_BEGIN: stack.append(Frame(key: key, line: line, isArray: true))
        case OMNI_TOML_TABLE_END, OMNI_TOML_ARRAY_END:
            guard stack.count > 1, let done = stack.popLast() else { return }
            add(done.key, done.node)
        case OMNI_TOML_STRING, OMNI_TOML_DATE_TIME:
            // Dates and times have no meaning in this config; they arrive as their TOML text.
            add(key, TOMLNode(value: .scalar(.string(Self.string(e.text, e.text_length))), line: line))
        case OMNI_TOML_INTEGER:
            // Int is 64-bit on the device; on a 32-bit build a huge value becomes a (range-checked) number.
            let value: ConfigScalar = Int(exactly: e.integer).map { .int($0) } ?? .double(Double(e.integer))
            add(key, TOMLNode(value: .scalar(value), line: line))
        case OMNI_TOML_FLOAT: add(key, TOMLNode(value: .scalar(.double(e.number)), line: line))
        case OMNI_TOML_BOOLEAN: add(key, TOMLNode(value: .scalar(.bool(e.boolean)), line: line))
        case OMNI_TOML_ERROR:
            failure = Failure(line: line > 0 ? line : nil, message: Self.string(e.text, e.text_length))
        default: break
        }
    }

    /// Appends a finished node to the innermost open table or array.
    private func add(_ key: String?, _ node: TOMLNode) {
        stack[stack.count - 1].children.append((key ?? "", node))
    }

    private static func string(_ p: UnsafePointer<CChar>?, _ count: Int) -> String {
        guard let p, count > 0 else { return "" }
        return p.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }
}
