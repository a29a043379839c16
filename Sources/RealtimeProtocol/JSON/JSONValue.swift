// A JSON value that keeps object key order and the int/double distinction, so events we do
// not model (or fields the service adds later) survive a decode/encode round trip unchanged.

public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// Integers, and doubles that hold a whole number.
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .double(let d): return d.rounded() == d && abs(d) < 9e15 ? Int(d) : nil
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// Equality that treats 1 and 1.0 as the same number and ignores object key order:
    /// what "the same JSON" means to a peer.
    public func semanticallyEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.int(let a), .int(let b)):
            // Exact: converting to Double would make 2^53 and 2^53+1 equal.
            return a == b
        case (.int, .double), (.double, .int), (.double, .double):
            return doubleValue == other.doubleValue
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.semanticallyEquals($1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a {
                guard let w = b[k], v.semanticallyEquals(w) else { return false }
            }
            return true
        default:
            return self == other
        }
    }
}

/// An ordered JSON object. Lookups are linear: event objects have a handful of keys.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }
    public init(_ pairs: [(String, JSONValue)]) { entries = pairs.map { Entry(key: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    public subscript(key: String) -> JSONValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    /// Appends without checking for an existing key (the builder's fast path).
    public mutating func append(_ key: String, _ value: JSONValue) {
        entries.append(Entry(key: key, value: value))
    }

    /// Adds every entry of `other` whose key is not already present.
    public mutating func merge(missingFrom other: JSONObject) {
        for e in other.entries where self[e.key] == nil { entries.append(e) }
    }

    public func makeIterator() -> AnyIterator<(String, JSONValue)> {
        var it = entries.makeIterator()
        return AnyIterator { it.next().map { ($0.key, $0.value) } }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
