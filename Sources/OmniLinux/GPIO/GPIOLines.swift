import OmniCore
import Synchronization

// The two kinds of line omnid uses, each owning its requested line (released on deinit or
// close()). A lock makes each safe to hand between threads; in practice one thread uses each.
// Both can be requested again (`reopen`) after their chip went away and came back (a driver
// unbound and bound, a USB GPIO expander replugged): the chip may return under another name.

/// A button line: input, bias, active-low, both-edge events with kernel timestamps.
public final class GPIOInputLine: Sendable {
    private let request: Mutex<(any GPIORequestedLine)?>
    private let backend: any GPIOBackend
    private let where_ = Mutex<(resolved: String, fd: Int32)>(("", -1))
    public let spec: GPIOLineSpec
    /// Where it was found, e.g. "gpiochip0 line 17".
    public var resolved: String { where_.withLock { $0.resolved } }
    /// The fd to poll; it changes with `reopen()`.
    public var fileDescriptor: Int32 { where_.withLock { $0.fd } }

    public init(backend: any GPIOBackend, spec: GPIOLineSpec) throws(GPIOError) {
        let r = try backend.openInput(spec)
        self.backend = backend
        self.spec = spec
        where_.withLock { $0 = ("\(r.chipName) line \(r.offset)", r.fileDescriptor) }
        request = Mutex(r)
    }

    /// Releases the line and requests it again, by the board file's name or offset.
    public func reopen() throws(GPIOError) {
        try request.withLock { (slot) throws(GPIOError) in
            slot?.close()
            slot = nil
            let r = try backend.openInput(spec)
            where_.withLock { $0 = ("\(r.chipName) line \(r.offset)", r.fileDescriptor) }
            slot = r
        }
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
    private let backend: any GPIOBackend
    private let where_ = Mutex<String>("")
    public let spec: GPIOLineSpec
    public var resolved: String { where_.withLock { $0 } }

    public init(backend: any GPIOBackend, spec: GPIOLineSpec, initial: Bool = false) throws(GPIOError) {
        let r = try backend.openOutput(spec, initial: initial)
        self.backend = backend
        self.spec = spec
        where_.withLock { $0 = "\(r.chipName) line \(r.offset)" }
        request = Mutex(r)
        last.withLock { $0 = initial }
    }

    /// Releases the line and requests it again driven to `level`.
    public func reopen(level: Bool) throws(GPIOError) {
        try request.withLock { (slot) throws(GPIOError) in
            slot?.close()
            slot = nil
            let r = try backend.openOutput(spec, initial: level)
            where_.withLock { $0 = "\(r.chipName) line \(r.offset)" }
            slot = r
        }
        last.withLock { $0 = level }
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
