// Server ids in the documented shapes (protocol §1): a prefix (`event_`, `sess_`, `resp_`,
// `item_`) plus 21 random alphanumerics. Seeded, so a test run (and a replayed log) is
// reproducible. (The trace fixtures use readable stand-ins, `event_trace001`: nothing reads
// an id's form, and random 21-character strings in the tree look like credentials.)

/// SplitMix64: tiny, fast and good enough for ids and test signals; deterministic per seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public struct IDGenerator: Sendable {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    private var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// `prefix_` followed by 21 characters from [A-Za-z0-9].
    public mutating func make(_ prefix: String) -> String {
        var out = Array(prefix.utf8)
        out.append(UInt8(ascii: "_"))
        for _ in 0..<21 { out.append(Self.alphabet[Int(rng.next() % UInt64(Self.alphabet.count))]) }
        return String(decoding: out, as: UTF8.self)
    }

    public mutating func event() -> String { make("event") }
    public mutating func item() -> String { make("item") }
    public mutating func response() -> String { make("resp") }
    public mutating func session() -> String { make("sess") }
    public mutating func conversation() -> String { make("conv") }
}
