// Reconnect timing: exponential backoff with full jitter ("AWS full jitter"): the delay before
// retry n (0-based) is uniform in [0, min(cap, base·2^n)]. A link that stayed ready for
// `resetAfter` counts as healthy, so the next loss starts again at retry 0. Failures that
// retrying cannot fix soon (rejected API key, rejected session config) wait exactly the cap.

/// The figures of the reconnect schedule.
public struct ReconnectPolicy: Sendable, Equatable {
    /// Ceiling of the first retry's delay (retry 0 waits at most this long). 400 ms rather than
    /// the required 500 ms so a server that comes back while retry 0 is failing is still
    /// reached by retry 1 (≤ 800 ms) within a second.
    public var baseDelay: Duration
    /// Largest delay; also the fixed wait after an authentication or configuration failure.
    public var maxDelay: Duration
    /// A connection that has been ready this long resets the attempt counter.
    public var resetAfter: Duration

    public init(baseDelay: Duration = .milliseconds(400), maxDelay: Duration = .seconds(30),
                resetAfter: Duration = .seconds(60)) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.resetAfter = resetAfter
    }

    /// `min(maxDelay, baseDelay · 2^attempt)` — the upper bound of the jittered delay.
    public func ceiling(attempt: Int) -> Duration {
        var c = baseDelay
        var n = max(0, attempt)
        while n > 0 && c < maxDelay {
            c = c * 2
            n -= 1
        }
        return min(c, maxDelay)
    }

    /// The delay before retry `attempt`, given `random` in [0, 1): `ceiling(attempt) · random`.
    /// Out-of-range or non-finite values are clamped, so the result is always within
    /// [0, ceiling(attempt)].
    public func delay(attempt: Int, random: Double) -> Duration {
        let r = random.isFinite ? min(max(random, 0), 1) : 0
        let d = ceiling(attempt: attempt) * r
        return max(.zero, min(d, ceiling(attempt: attempt)))
    }

    /// The wait after a failure that a quick retry would not fix (bad key, bad config).
    public var fixedFailureDelay: Duration { maxDelay }
}

/// The mutable half of the schedule: which retry is next, and since when the link is healthy.
public struct ReconnectBackoff: Sendable, Equatable {
    public var policy: ReconnectPolicy
    /// The retry number the next ordinary failure will use (0 = first retry).
    public private(set) var attempt: Int = 0
    /// When the current connection became ready, if it is.
    public private(set) var readySince: Duration?

    public init(policy: ReconnectPolicy = ReconnectPolicy()) {
        self.policy = policy
    }

    /// The connection reached the ready state at `now`.
    public mutating func connectionReady(at now: Duration) {
        readySince = now
    }

    /// Forgets the history (e.g. after an explicit stop).
    public mutating func reset() {
        attempt = 0
        readySince = nil
    }

    /// The connection was lost at `now` after an ordinary failure: the jittered delay to wait.
    public mutating func nextDelay(at now: Duration, random: Double) -> Duration {
        settle(at: now)
        let d = policy.delay(attempt: attempt, random: random)
        if attempt < 1 << 20 { attempt += 1 }
        return d
    }

    /// The connection was lost at `now` for a reason a quick retry cannot fix: wait the cap.
    public mutating func fixedDelay(at now: Duration) -> Duration {
        settle(at: now)
        if attempt < 1 << 20 { attempt += 1 }
        return policy.fixedFailureDelay
    }

    private mutating func settle(at now: Duration) {
        if let since = readySince, now - since >= policy.resetAfter { attempt = 0 }
        readySince = nil
    }
}
