import CTomlShim
import OmniCore

// The toml++ side of the config seam (OmniCore's TOMLSyntax.swift): toml++ (Debian's
// libtomlplusplus, through CTomlShim's omni_toml.h) parses the text and reports each node
// depth-first with its line; TOMLReader rebuilds the tree as OmniCore's plain TOMLNode values.

public enum TOMLPlusPlus {
    /// The parser every real config and board file goes through.
    /// Text that nests too deeply is refused before toml++ sees it: its parser, its destructors
    /// and the walk below all recurse once per level (a 20,000-level header overflowed the stack).
    public static let parse: TOMLParse = { text in
        if let tooDeep = TOMLNestingGuard.check(text) { return .failure(tooDeep) }
        return TOMLReader.read(text)
    }
}

/// Builds a `TOMLNode` tree from the shim's depth-first events.
final class TOMLReader {
    typealias Failure = TOMLSyntaxError

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
