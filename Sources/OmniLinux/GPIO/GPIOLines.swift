import OmniCore
import Synchronization

// The two kinds of line omnid uses, each owning its requested line (released on deinit or
// close()). A lock makes each safe to hand between threads; in practice one thread uses each.

/// A button line: input, bias, active-low, both-edge events with kernel timestamps.
public final class GPIOInputLine: Sendable {
    private let request: Mutex<(any GPIORequestedLine)?>
    public let spec: GPIOLineSpec
    /// Where it was found, e.g. "gpiochip0 line 17".
    public let resolved: String
    public let fileDescriptor: Int32

    public init(backend: any GPIOBackend, spec: GPIOLineSpec) throws(GPIOError) {
        let r = try backend.openInput(spec)
        self.spec = spec
        resolved = "\(r.chipName) line \(r.offset)"
        fileDescriptor = r.fileDescriptor
        request = Mutex(r)
    }

    deinit { close() }

    public func readEdges(max: Int = 64) throws(GPIOError) -> [GPIOEdge] {
        try request.withLock { (r) throws(GPIOError) -> [GPIOEdge] in
            guard let r else { throw GPIOError(stage: .io, code: 9, line: spec.line) }
            return try r.readEdges(max: max)
        }
    }

    /// The logical level now (true = pressed).
    public func value() throws(GPIOError) -> Bool {
        try request.withLock { (r) throws(GPIOError) -> Bool in
            guard let r else { throw GPIOError(stage: .io, code: 9, line: spec.line) }
            return try r.value()
        }
    }

    public func close() {
        request.withLock { r in
            r?.close()
            r = nil
        }
    }
}

/// An LED line: output, active-low if wired so.
public final class GPIOOutputLine: Sendable {
    private let request: Mutex<(any GPIORequestedLine)?>
    private let last = Mutex<Bool?>(nil)
    public let spec: GPIOLineSpec
    public let resolved: String

    public init(backend: any GPIOBackend, spec: GPIOLineSpec, initial: Bool = false) throws(GPIOError) {
        let r = try backend.openOutput(spec, initial: initial)
        self.spec = spec
        resolved = "\(r.chipName) line \(r.offset)"
        request = Mutex(r)
        last.withLock { $0 = initial }
    }

    deinit { close() }

    /// Drives the line; a write of the level it already has is skipped.
    public func set(_ on: Bool) throws(GPIOError) {
        if last.withLock({ $0 == on }) { return }
        try request.withLock { (r) throws(GPIOError) in
            guard let r else { throw GPIOError(stage: .io, code: 9, line: spec.line) }
            try r.setValue(on)
        }
        last.withLock { $0 = on }
    }

    public func close() {
        request.withLock { r in
            r?.close()
            r = nil
        }
    }
}

extension GPIOLineSpec {
    /// The button's line as the board file describes it.
    public static func button(_ config: ButtonBoardConfig) -> GPIOLineSpec? {
        config.line.map { GPIOLineSpec(line: $0, bias: config.bias, activeLow: config.activeLow, consumer: "omnid button") }
    }

    /// The LED lines (red, green, blue order).
    public static func leds(_ config: LEDBoardConfig) -> [GPIOLineSpec] {
        config.lines.map { GPIOLineSpec(line: $0, bias: .asIs, activeLow: config.activeLow, consumer: "omnid led") }
    }
}
