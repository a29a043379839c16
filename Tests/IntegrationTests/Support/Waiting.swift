#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import XCTest

// How the integration tests wait. Timing comes from events (what arrived, in what order, how
// many) or from an injected clock; a timeout only stops a test that would otherwise hang, and
// is generous because the test machine is a shared, often busy, 2-core box. Speed figures
// (reconnect time, exec → ready, parse rates) are printed by the benchmarks in bench/, never
// asserted here.

enum TestGuard {
    /// Seconds to wait for something that should happen before giving up (a hang guard, not a
    /// measurement).
    static let seconds: Double = 60
}

/// Polls `condition` every `pollMicros` until it holds or `timeout` seconds have passed on the
/// monotonic clock. The timeout is a hang guard, never the thing being tested.
@discardableResult
func eventually(timeout: Double = TestGuard.seconds, pollMicros: UInt32 = 2_000, _ condition: () -> Bool) -> Bool {
    let clock = SystemMonotonicClock()
    let end = clock.now() + .milliseconds(Int64(timeout * 1000))
    while true {
        if condition() { return true }
        if clock.now() >= end { return condition() }
        usleep(pollMicros)
    }
}

/// Something a test needs is missing (a binary not built, a tool not installed): the test fails
/// with this message. Only what is truly optional (a TSan build, a benchmark runner, hardware
/// this machine does not have) is an XCTSkip, and its message says so.
struct MissingPrerequisite: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
