// Time for the controller loop: a monotonic reading since an arbitrary origin. The session
// manager never sleeps; it asks the clock for "now" and tells the controller when it next
// needs a `tick()`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A monotonic clock: `now()` never goes backwards and does not jump with wall-clock changes.
public protocol MonotonicClock: Sendable {
    /// Time since an arbitrary, fixed origin.
    func now() -> Duration
}

/// `clock_gettime(CLOCK_MONOTONIC)`: does not count time spent suspended, is not affected by
/// NTP steps or `date -s`, which matters on a board without an RTC that sets its clock late.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}

    public func now() -> Duration {
        var ts = timespec()
        _ = clock_gettime(CLOCK_MONOTONIC, &ts)
        return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
    }
}

/// A clock that only moves when told to; for tests and simulations (no real sleeping).
public final class ManualClock: MonotonicClock {
    private let current: Mutex<Duration>

    public init(_ start: Duration = .zero) {
        current = Mutex(start)
    }

    public func now() -> Duration {
        current.withLock { $0 }
    }

    /// Moves the clock forward; a negative amount is ignored (the clock is monotonic).
    public func advance(by amount: Duration) {
        current.withLock { if amount > .zero { $0 += amount } }
    }

    /// Sets the clock to `time` if that is not in the past.
    public func set(to time: Duration) {
        current.withLock { if time > $0 { $0 = time } }
    }
}
