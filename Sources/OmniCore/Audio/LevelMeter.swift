// Peak and RMS level of a stretch of Int16 audio, in linear and dBFS terms (0 dBFS = a
// full-scale square wave for RMS, full scale for peak). Used by `omnid test-audio` and for
// capture level diagnostics. Accumulates without allocating.

public struct LevelMeter: Sendable, Equatable {
    public private(set) var peak: Int = 0
    public private(set) var sumOfSquares: Double = 0
    public private(set) var count: Int = 0

    public init() {}

    public mutating func add(_ samples: UnsafeBufferPointer<Int16>) {
        var p = peak
        var sum = 0.0
        for s in samples {
            let a = abs(Int(s))
            if a > p { p = a }
            sum += Double(s) * Double(s)
        }
        peak = p
        sumOfSquares += sum
        count += samples.count
    }

    public mutating func add(_ samples: [Int16]) {
        samples.withUnsafeBufferPointer { add($0) }
    }

    public mutating func reset() { self = LevelMeter() }

    /// RMS in sample units (0…32768).
    public var rms: Double { count == 0 ? 0 : (sumOfSquares / Double(count)).squareRoot() }

    /// Peak relative to full scale (32768), in dB; −∞ for silence.
    public var peakDBFS: Double { PCM.decibels(Double(peak) / 32768) }

    /// RMS relative to full scale (32768), in dB; −∞ for silence.
    public var rmsDBFS: Double { PCM.decibels(rms / 32768) }
}
