// Duration → nanoseconds, the unit of DispatchTime, timespec and most kernel timeouts. The
// seconds/attoseconds arithmetic lives here once so callers cannot differ on rounding (always
// toward zero) or on overflow (saturate, never trap: a "no deadline" of years must not crash).

extension Duration {
    /// Whole nanoseconds, truncated toward zero, saturating at `Int64.min`/`Int64.max`
    /// (about ±292 years) instead of trapping.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        // `components` gives both parts with the same sign, so the sum cannot cancel an overflow.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }

    /// The fields of a `timespec` (`tv_sec`, `tv_nsec`), truncated toward zero; a negative
    /// duration gives (0, 0) because a timeout or sleep cannot be negative and the kernel rejects
    /// a negative `tv_nsec`. Always `0 <= nanoseconds < 1_000_000_000`.
    public var timespecComponents: (seconds: Int64, nanoseconds: Int64) {
        guard self > .zero else { return (0, 0) }
        let (seconds, attoseconds) = components
        return (seconds, attoseconds / 1_000_000_000)
    }
}

extension Duration {
    /// Whole milliseconds, truncated toward zero (saturating like `wholeNanoseconds`).
    public var wholeMilliseconds: Int64 { wholeNanoseconds / 1_000_000 }

    /// Milliseconds rounded up, so a wait of 0.1 ms is 1 ms and never a busy 0 (poll timeouts).
    public var millisecondsRoundedUp: Int64 {
        let ns = wholeNanoseconds
        return ns <= 0 ? ns / 1_000_000 : (ns + 999_999) / 1_000_000
    }

    /// Milliseconds as a fraction, for figures and logs.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
