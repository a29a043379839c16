// Test doubles for the session manager: a transport that records every call, and a log handler
// that keeps every log line.

import Logging
import OmniCore
import RealtimeProtocol
import Synchronization

/// Records calls; `accepting` decides what `send(text:)` returns (false = stalled link).
final class FakeTransport: RealtimeTransport {
    enum Call: Equatable {
        case connect(url: String)
        case send(String)
        case ping
        case close(code: Int, reason: String)
        case abort
    }

    private struct Record {
        var calls: [Call] = []
        var accepting = true
        var refusedSends = 0
    }

    private let record = Mutex(Record())

    var calls: [Call] { record.withLock { $0.calls } }
    var accepting: Bool {
        get { record.withLock { $0.accepting } }
        set { record.withLock { $0.accepting = newValue } }
    }
    var refusedSends: Int { record.withLock { $0.refusedSends } }

    var sent: [String] { calls.compactMap { if case .send(let t) = $0 { t } else { nil } } }
    /// Decoded sent messages; a message that does not decode becomes `.unknown("<undecodable>")`.
    var sentEvents: [ClientEvent] {
        sent.map { (try? ClientEvent.decode($0)) ?? ClientEvent(.unknown(type: "<undecodable>")) }
    }
    var sentTypes: [String] { sentEvents.map(\.type) }
    var connects: Int { calls.filter { if case .connect = $0 { true } else { false } }.count }
    var pings: Int { calls.filter { $0 == .ping }.count }
    var aborts: Int { calls.filter { $0 == .abort }.count }
    var closes: [Call] { calls.filter { if case .close = $0 { true } else { false } } }

    func connect(_ request: ConnectRequest) { record.withLock { $0.calls.append(.connect(url: request.url)) } }

    func send(text: String) -> Bool {
        record.withLock {
            guard $0.accepting else {
                $0.refusedSends += 1
                return false
            }
            $0.calls.append(.send(text))
            return true
        }
    }

    var queuedMessages: Int { 0 }
    func ping() { record.withLock { $0.calls.append(.ping) } }
    func close(code: Int, reason: String) { record.withLock { $0.calls.append(.close(code: code, reason: reason)) } }
    func abort() { record.withLock { $0.calls.append(.abort) } }
}

/// Every log line, rendered as "level message metadata".
final class FakeLogStore: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    func contains(_ fragment: String) -> Bool { all.contains { $0.contains(fragment) } }
}

struct FakeLogHandler: LogHandler {
    let store: FakeLogStore
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let meta = (event.metadata ?? [:]).merging(metadata) { a, _ in a }
        store.append("\(event.level) \(event.message)\(meta.isEmpty ? "" : " \(meta)")")
    }
}
