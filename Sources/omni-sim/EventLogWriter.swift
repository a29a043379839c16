import RealtimeProtocol
import SimulatorCore

/// `--log FILE.jsonl`: every event received and sent, with a monotonic timestamp (ms since the
/// simulator started) and the connection id. Only used from the simulator's queue.
final class EventLogWriter {
    private let file: LineFile?
    private let logAudio: Bool
    private let start: ContinuousClock.Instant

    init(path: String?, logAudio: Bool, start: ContinuousClock.Instant) throws(OmniSimError) {
        if let path {
            guard let f = LineFile(path: path) else { throw .message("cannot open log file \(path)") }
            file = f
        } else {
            file = nil
        }
        self.logAudio = logAudio
        self.start = start
    }

    var enabled: Bool { file != nil }

    func write(conn: Int, dir: String, event: @autoclosure () -> JSONValue) {
        guard let file else { return }
        let t = (ContinuousClock.now - start).components
        let ms = Double(t.seconds) * 1000 + Double(t.attoseconds) / 1e15
        file.write(line: EventLog.line(tMs: ms, conn: .int(Int64(conn)), dir: dir, event: event(), logAudio: logAudio))
    }
}

struct OmniSimError: Error, CustomStringConvertible {
    var description: String
    static func message(_ s: String) -> OmniSimError { OmniSimError(description: s) }
}
