import Foundation
import Logging
import OmniCore
import XCTest

// Waiting on events (with a hang guard, never a timing assertion) and collecting log lines.

enum TestGuard {
    static let seconds: Double = 60
}

@discardableResult
func eventually(timeout: Double = TestGuard.seconds, _ condition: () -> Bool) -> Bool {
    let clock = SystemMonotonicClock()
    let end = clock.now() + .milliseconds(Int64(timeout * 1000))
    while !condition() {
        if clock.now() >= end { return condition() }
        usleep(2_000)
    }
    return true
}

/// Log lines a part wrote, for assertions on what was logged and how often.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] { lock.withLock { lines } }
    func count(_ fragment: String) -> Int { all.filter { $0.contains(fragment) }.count }
    func add(_ line: String) { lock.withLock { lines.append(line) } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(sink: self) }
    }

    struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            sink.add("\(event.level): \(event.message)")
        }
    }
}

/// Collects what a capture thread hands over.
final class FrameInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [CameraFrameRecord] = []
    var all: [CameraFrameRecord] { lock.withLock { frames } }
    var count: Int { lock.withLock { frames.count } }
    func add(_ f: CameraFrameRecord) { lock.withLock { frames.append(f) } }
}

struct CameraFrameRecord: Sendable {
    var width: Int
    var height: Int
    var jpeg: [UInt8]
    var passthrough: Bool
    var capturedAt: Duration
}
