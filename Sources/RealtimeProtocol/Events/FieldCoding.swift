// Helpers that turn JSON objects into typed fields and back. A reader remembers which keys it
// consumed so everything else can be kept in `extra` and re-emitted: the service adds fields
// per model generation and a client must tolerate (and not lose) them.

/// A field that can be missing, explicitly null, or set — the protocol gives all three
/// different meanings (e.g. `turn_detection`: missing = default VAD, null = manual mode).
public enum Setting<Value: Sendable & Equatable>: Sendable, Equatable {
    case unset
    case null
    case set(Value)

    public var value: Value? { if case .set(let v) = self { v } else { nil } }
}

public enum EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case notJSON(JSONParseError)
    case notAnObject
    /// `type` is missing or is not a string.
    case missingType
    /// A known field has the wrong JSON type. `event` is the frame's `type`; `key` is the path of
    /// the field from the top of the frame, in the style of the service's `error.param`
    /// (`delta`, `session.turn_detection.threshold`, `response.output[0].content[1]`).
    case badField(event: String, key: String, expected: String)

    public var description: String {
        switch self {
        case .notJSON(let e): "frame is not JSON (\(e))"
        case .notAnObject: "frame is not a JSON object"
        case .missingType: "frame has no string \"type\""
        case .badField(let ev, let key, let expected): "\(ev): field \"\(key)\" must be \(expected)"
        }
    }
}

/// Where a nested object sits in the frame, for error messages.
struct FieldContext {
    /// The frame's `type`.
    var event: String
    /// Dotted path of the object being read, "" for the frame itself.
    var path: String

    func key(_ k: String) -> String { path.isEmpty ? k : path + "." + k }
    func child(_ k: String) -> FieldContext { FieldContext(event: event, path: key(k)) }
    func element(_ i: Int) -> FieldContext { FieldContext(event: event, path: path + "[\(i)]") }
    func bad(_ expected: String) -> EventDecodingError { .badField(event: event, key: path, expected: expected) }
}

/// Reads typed fields out of one object.
///
/// Null handling, so that a decode/encode round trip loses nothing:
/// - `opt…` readers treat an explicit `null` like a missing key but leave it unconsumed, so it
///   lands in `rest` (the owner's `extra`) and is re-emitted as `null`;
/// - `…(_:default:)` readers (fields the model always has) and `setting` consume a `null`.
struct FieldReader {
    let context: FieldContext
    let object: JSONObject
    private var used: Set<String> = []

    init(_ object: JSONObject, context: FieldContext) {
        self.object = object
        self.context = context
    }

    /// Fields not consumed so far, in their original order.
    var rest: JSONObject {
        JSONObject(object.entries.filter { !used.contains($0.key) }.map { ($0.key, $0.value) })
    }

    /// Consumes `key` and returns its value (nil if missing).
    private mutating func take(_ key: String) -> JSONValue? {
        used.insert(key)
        return object[key]
    }

    /// The value of `key` unless it is missing or null; a null stays unconsumed.
    private mutating func takeNonNull(_ key: String) -> JSONValue? {
        guard let v = object[key], !v.isNull else { return nil }
        used.insert(key)
        return v
    }

    func bad(_ key: String, _ expected: String) -> EventDecodingError {
        .badField(event: context.event, key: context.key(key), expected: expected)
    }

    mutating func ignore(_ key: String) { used.insert(key) }

    /// A field that must be present and a string.
    mutating func string(_ key: String) throws(EventDecodingError) -> String {
        guard let s = take(key)?.stringValue else { throw bad(key, "a string") }
        return s
    }

    /// Missing or null → `defaultValue` (consumed); present with another type → error.
    mutating func string(_ key: String, default defaultValue: String) throws(EventDecodingError) -> String {
        guard let v = take(key), !v.isNull else { return defaultValue }
        guard let s = v.stringValue else { throw bad(key, "a string") }
        return s
    }

    /// Missing or null → nil; present with another type → error.
    mutating func optString(_ key: String) throws(EventDecodingError) -> String? {
        guard let v = takeNonNull(key) else { return nil }
        guard let s = v.stringValue else { throw bad(key, "a string") }
        return s
    }

    mutating func int(_ key: String) throws(EventDecodingError) -> Int {
        guard let i = take(key)?.intValue else { throw bad(key, "an integer") }
        return i
    }

    mutating func int(_ key: String, default defaultValue: Int) throws(EventDecodingError) -> Int {
        guard let v = take(key), !v.isNull else { return defaultValue }
        guard let i = v.intValue else { throw bad(key, "an integer") }
        return i
    }

    mutating func optInt(_ key: String) throws(EventDecodingError) -> Int? {
        guard let v = takeNonNull(key) else { return nil }
        guard let i = v.intValue else { throw bad(key, "an integer") }
        return i
    }

    mutating func optDouble(_ key: String) throws(EventDecodingError) -> Double? {
        guard let v = takeNonNull(key) else { return nil }
        guard let d = v.doubleValue else { throw bad(key, "a number") }
        return d
    }

    mutating func optBool(_ key: String) throws(EventDecodingError) -> Bool? {
        guard let v = takeNonNull(key) else { return nil }
        guard let b = v.boolValue else { throw bad(key, "true or false") }
        return b
    }

    mutating func optStrings(_ key: String) throws(EventDecodingError) -> [String]? {
        guard let v = takeNonNull(key) else { return nil }
        guard let a = v.arrayValue else { throw bad(key, "an array of strings") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let s = e.stringValue else { throw bad(key, "an array of strings") }
            out.append(s)
        }
        return out
    }

    mutating func object(_ key: String) throws(EventDecodingError) -> JSONObject {
        guard let o = take(key)?.objectValue else { throw bad(key, "an object") }
        return o
    }

    /// Missing or null → empty object (consumed); present with another type → error.
    mutating func object(_ key: String, default defaultValue: JSONObject) throws(EventDecodingError) -> JSONObject {
        guard let v = take(key), !v.isNull else { return defaultValue }
        guard let o = v.objectValue else { throw bad(key, "an object") }
        return o
    }

    mutating func optObject(_ key: String) throws(EventDecodingError) -> JSONObject? {
        guard let v = takeNonNull(key) else { return nil }
        guard let o = v.objectValue else { throw bad(key, "an object") }
        return o
    }

    mutating func optArray(_ key: String) throws(EventDecodingError) -> [JSONValue]? {
        guard let v = takeNonNull(key) else { return nil }
        guard let a = v.arrayValue else { throw bad(key, "an array") }
        return a
    }

    /// The raw value, unless missing or null (a null stays unconsumed, like `opt…`).
    mutating func optRaw(_ key: String) -> JSONValue? { takeNonNull(key) }

    /// Tri-state field whose set value is decoded by `decode` (given the field's context).
    mutating func setting<T>(_ key: String, _ decode: (JSONValue, FieldContext) throws(EventDecodingError) -> T?)
        throws(EventDecodingError) -> Setting<T>
    {
        guard let v = take(key) else { return .unset }
        if v.isNull { return .null }
        guard let t = try decode(v, context.child(key)) else { throw bad(key, "a valid value or null") }
        return .set(t)
    }

    /// Tri-state field holding a plain value (`nil` from `convert` = wrong type).
    mutating func setting<T>(_ key: String, _ convert: (JSONValue) -> T?) throws(EventDecodingError) -> Setting<T> {
        try setting(key) { (v, _) throws(EventDecodingError) in convert(v) }
    }
}

/// Builds an object in a fixed key order, skipping nil values.
struct FieldWriter {
    var object = JSONObject()

    mutating func put(_ key: String, _ value: JSONValue?) {
        if let value { object[key] = value }
    }
    mutating func put(_ key: String, _ value: String?) { put(key, value.map(JSONValue.string)) }
    mutating func put(_ key: String, _ value: Int?) { put(key, value.map { JSONValue.int(Int64($0)) }) }
    mutating func put(_ key: String, _ value: Double?) { put(key, value.map(JSONValue.double)) }
    mutating func put(_ key: String, _ value: Bool?) { put(key, value.map(JSONValue.bool)) }
    mutating func put(_ key: String, _ value: [String]?) { put(key, value.map { JSONValue.array($0.map(JSONValue.string)) }) }
    mutating func put<T>(_ key: String, _ setting: Setting<T>, _ encode: (T) -> JSONValue) {
        switch setting {
        case .unset: break
        case .null: object[key] = .null
        case .set(let v): object[key] = encode(v)
        }
    }
    /// Adds the unmodelled fields; a typed field already written wins over an `extra` entry
    /// with the same key.
    mutating func extra(_ rest: JSONObject) { object.merge(missingFrom: rest) }
}
