// The seam between the pure config code and a TOML parser. OmniCore validates, defaults and
// explains; a parser target (OmniTOML, over toml++) only turns text into these nodes. Tests of the
// pure core can hand-build nodes; everything that reads real files uses OmniTOML.

/// Parses TOML text into its root table, or says where and why it is not TOML.
public typealias TOMLParse = @Sendable (String) -> Result<TOMLNode, TOMLSyntaxError>

/// A TOML syntax error: the parser's own description and the line it points at.
public struct TOMLSyntaxError: Error, Sendable, Equatable {
    public var line: Int?
    public var message: String
    public init(line: Int?, message: String) {
        self.line = line
        self.message = message
    }
}

/// One parsed TOML node and the line the parser says it begins on.
public struct TOMLNode: Sendable {
    public enum Value: Sendable {
        case scalar(ConfigScalar)
        case array([TOMLNode])
        case table([(key: String, node: TOMLNode)])
    }
    public var value: Value
    public var line: Int

    public init(value: Value, line: Int) {
        self.value = value
        self.line = line
    }

    public var children: [(key: String, node: TOMLNode)] {
        if case .table(let c) = value { return c }
        return []
    }

    public var scalar: ConfigScalar {
        switch value {
        case .scalar(let s): s
        case .array(let a): .array(a.map(\.scalar))
        case .table(let t): .table(Dictionary(t.map { ($0.key, $0.node.scalar) }) { _, new in new })
        }
    }
}
