// What a simulated room does to the sound on its way from the speaker back into the
// microphone, as written in omni.conf's `[audio] room = "…"`:
//
//   room = "delay_ms=60,gain_db=-6,rt60_ms=300,noise_db=-60,drift_ppm=0,seed=7"
//
// Every field is optional (defaults below: a small, fairly live kitchen with the speaker a
// hand's width from the microphone). `ir=FILE.wav` replaces the synthetic reverberation with a
// measured impulse response. Parsing is pure and total: every problem names its field.

public struct RoomSpec: Sendable, Equatable, CustomStringConvertible {
    /// Bulk delay from the speaker to the microphone (DAC/ADC buffers + air), ms.
    public var delayMs = 50.0
    /// Level of the direct path (the impulse response's first tap), dB.
    public var gainDB = -6.0
    /// Reverberation time of the synthetic tail: −60 dB after this many ms (0: no tail).
    public var rt60Ms = 250.0
    /// Direct-to-reverberant energy ratio of the synthetic tail, dB.
    public var drrDB = 3.0
    /// White noise floor at the microphone, dB relative to full scale (RMS).
    public var noiseDB = -70.0
    /// How much faster the microphone's clock runs than the speaker's, parts per million
    /// (two USB devices typically differ by 10–100 ppm).
    public var driftPPM = 0.0
    /// Seed of the reverberation tail and the noise floor.
    public var seed: UInt64 = 1
    /// A measured impulse response (WAV, first channel) instead of the synthetic one.
    public var irFile: String?

    public init() {}

    public static let fieldNames = ["delay_ms", "gain_db", "rt60_ms", "drr_db", "noise_db", "drift_ppm", "seed", "ir"]

    static let ranges: [String: ClosedRange<Double>] = [
        "delay_ms": 0...1000, "gain_db": -60...12, "rt60_ms": 0...2000, "drr_db": -20...40,
        "noise_db": -150...0, "drift_ppm": -1000...1000,
    ]

    /// Parses `field=value,field=value…` (spaces around items are ignored; an empty string is
    /// the default room).
    public static func parse(_ text: String) throws(RoomSpecError) -> RoomSpec {
        var spec = RoomSpec()
        var seen: Set<String> = []
        var rt60Given = false, drrGiven = false
        for rawItem in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = rawItem.trimmingSpaces()
            if item.isEmpty {
                if text.trimmingSpaces().isEmpty { break }
                throw RoomSpecError(field: nil, message: "empty item; write field=value items separated by commas")
            }
            guard let eq = item.firstIndex(of: "=") else {
                throw RoomSpecError(field: item, message: "needs a value, as in \(item)=…")
            }
            let field = item[..<eq].trimmingSpaces()
            let value = item[item.index(after: eq)...].trimmingSpaces()
            guard fieldNames.contains(field) else {
                var msg = "unknown field"
                if let s = DidYouMean.suggest(field, among: fieldNames) { msg += "; did you mean \(s)?" }
                else { msg += "; the fields are \(fieldNames.joined(separator: ", "))" }
                throw RoomSpecError(field: field, message: msg)
            }
            guard seen.insert(field).inserted else { throw RoomSpecError(field: field, message: "given twice") }
            switch field {
            case "seed":
                guard let s = UInt64(value) else {
                    throw RoomSpecError(field: field, message: "\"\(value)\" is not a whole number ≥ 0")
                }
                spec.seed = s
            case "ir":
                guard !value.isEmpty else { throw RoomSpecError(field: field, message: "needs the path of a WAV file") }
                spec.irFile = value
            default:
                let range = ranges[field]!
                guard let d = Double(value), d.isFinite else {
                    throw RoomSpecError(field: field, message: "\"\(value)\" is not a number; allowed \(format(range.lowerBound)) to \(format(range.upperBound))")
                }
                guard range.contains(d) else {
                    throw RoomSpecError(field: field, message: "\(format(d)) is out of range; allowed \(format(range.lowerBound)) to \(format(range.upperBound))")
                }
                switch field {
                case "delay_ms": spec.delayMs = d
                case "gain_db": spec.gainDB = d
                case "rt60_ms": spec.rt60Ms = d; rt60Given = true
                case "drr_db": spec.drrDB = d; drrGiven = true
                case "noise_db": spec.noiseDB = d
                default: spec.driftPPM = d
                }
            }
        }
        if spec.irFile != nil, rt60Given || drrGiven {
            throw RoomSpecError(field: rt60Given ? "rt60_ms" : "drr_db",
                                message: "describes the synthetic reverberation; the file given with ir= has its own")
        }
        return spec
    }

    /// The canonical text: every field, parseable back to an equal spec.
    public var description: String {
        var items = ["delay_ms=\(Self.format(delayMs))", "gain_db=\(Self.format(gainDB))"]
        if let irFile {
            items.append("ir=\(irFile)")
        } else {
            items.append("rt60_ms=\(Self.format(rt60Ms))")
            items.append("drr_db=\(Self.format(drrDB))")
        }
        items += ["noise_db=\(Self.format(noiseDB))", "drift_ppm=\(Self.format(driftPPM))", "seed=\(seed)"]
        return items.joined(separator: ",")
    }

    /// Whole numbers without ".0", others as Swift prints them (round-trips exactly).
    static func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    }
}

public struct RoomSpecError: Error, Equatable, CustomStringConvertible {
    /// The field at fault (nil when the text as a whole is malformed).
    public var field: String?
    public var message: String

    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
