// The fuzz targets: one per kind of untrusted input omnid reads. Each takes raw bytes, feeds
// them to the real parser, and checks the properties that must hold for *any* input beyond
// "does not crash" (round trips, idempotence). A broken property is thrown as a FuzzFinding;
// the libFuzzer driver turns it into a crash (so it is saved and minimized like one), and the
// regression tests turn it into a test failure.
//
// This is a library, not part of the driver, so FuzzRegressionTests can replay the committed
// corpus and crash reproducers in-process in every `swift test`.

/// One kind of input. The raw value is the name `omni-fuzz` and `fuzz/run.sh` take, and the
/// folder under fuzz/corpus/ and fuzz/crashes/.
public enum FuzzTarget: String, Sendable, CaseIterable {
    /// One WebSocket text frame: RealtimeProtocol's JSON parser and serializer, then server and
    /// client event decoding (the simulator decodes client frames from the network).
    case json
    /// /etc/omni.conf: the TOML seam (toml++ through OmniTOML) and ConfigLoader's validation.
    case config
    /// A board file: the same seam, then BoardIOConfig's [button]/[leds] parsing.
    case board
    /// The control socket's line protocol, both halves: request lines and the status reply.
    case control
    /// The `file:` audio backend's WAV reader.
    case wav

    /// Runs one input; throws when a property that must hold for every input is broken.
    public func run(_ data: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        switch self {
        case .json: try JSONFuzz.run(bytes)
        case .config: try ConfigFuzz.run(bytes)
        case .board: try BoardFuzz.run(bytes)
        case .control: try ControlFuzz.run(bytes)
        case .wav: try WAVFuzz.run(bytes)
        }
    }

    public func run(_ bytes: [UInt8]) throws(FuzzFinding) {
        let result: Result<Void, FuzzFinding> = bytes.withUnsafeBytes { raw in
            do throws(FuzzFinding) { try run(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A property of a parser that an input broke (not a crash: those stop the process by themselves).
public struct FuzzFinding: Error, Sendable, CustomStringConvertible {
    public var target: FuzzTarget
    public var message: String

    public init(_ target: FuzzTarget, _ message: String) {
        self.target = target
        self.message = message
    }

    public var description: String { "\(target.rawValue): \(message)" }
}

/// Text of an input, as the programs see it: config files and control lines are decoded from
/// UTF-8 with invalid sequences repaired, exactly as omnid reads them.
func utf8Text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self)
}

/// A short, printable excerpt for a finding's message.
func excerpt(_ s: String, _ limit: Int = 160) -> String {
    let e = String(String.UnicodeScalarView(s.unicodeScalars.prefix(limit).map { $0.value < 0x20 ? "·" : $0 }))
    return s.unicodeScalars.count > limit ? e + "…" : e
}
