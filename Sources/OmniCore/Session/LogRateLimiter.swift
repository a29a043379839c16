// When a warning that can repeat without bound (one per malformed frame, per dropped audio
// message, per bad audio delta: issue 16 measured 16,000 lines in 0.4 s) is actually written.
//
// The first occurrence is written at once, so the cause is visible immediately. After that at most
// one line per `interval`, and that line says how many occurrences were left unwritten since the
// previous one. The limiter owns no timer: a pending summary goes out with the next occurrence
// after the interval, or when its owner calls `flush(at:)` from a deadline or an event it already
// has (the session manager uses every transport event and tick). Pure: time is passed in.

public struct LogRateLimiter: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// Write nothing now; the occurrence is counted for the next line.
        case quiet
        /// Write a line for this occurrence; `skipped` earlier ones since the previous line were not written.
        case log(skipped: Int)
    }

    /// Shortest time between two lines (after the first).
    public let interval: Duration
    /// Occurrences since the previous line that no line has reported yet.
    public private(set) var skipped = 0
    /// Every occurrence ever recorded.
    public private(set) var total = 0
    /// When the previous line was written; nil before the first.
    private var lastLineAt: Duration?

    public init(interval: Duration) {
        self.interval = interval
    }

    /// One occurrence at `now`: whether to write its line.
    public mutating func record(at now: Duration) -> Verdict {
        total += 1
        if let last = lastLineAt, now - last < interval {
            skipped += 1
            return .quiet
        }
        let earlier = skipped
        skipped = 0
        lastLineAt = now
        return .log(skipped: earlier)
    }

    /// How many occurrences a summary line written now must report, or nil when none is due
    /// (nothing unreported, or the interval since the previous line has not passed).
    public mutating func flush(at now: Duration) -> Int? {
        guard skipped > 0, let last = lastLineAt, now - last >= interval else { return nil }
        let n = skipped
        skipped = 0
        lastLineAt = now
        return n
    }
}
