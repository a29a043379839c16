#if canImport(Glibc)
import Glibc
#endif
import CGPIOShim
import OmniCore

// The GPIO shim's API (omni_gpio.h) in Swift terms. `LibgpiodBackend` is the real one; tests use
// a fake with the same protocol, so everything above it (GPIOInputLine, GPIOButton, the LED
// driver) runs unchanged without hardware. C handles never leave this file.

/// One edge as the kernel reported it.
public struct GPIOEdge: Sendable, Equatable {
    /// Kernel timestamp (CLOCK_MONOTONIC, the same clock as SystemMonotonicClock).
    public var timestamp: Duration
    /// Logical direction (active-low applied): true = became active (pressed).
    public var rising: Bool

    public init(timestamp: Duration, rising: Bool) {
        self.timestamp = timestamp
        self.rising = rising
    }
}

/// What to request: the board file's line plus its electrical settings.
public struct GPIOLineSpec: Sendable, Equatable {
    public var line: GPIOLineRef
    public var bias: GPIOBias
    public var activeLow: Bool
    public var consumer: String

    public init(line: GPIOLineRef, bias: GPIOBias = .asIs, activeLow: Bool = false, consumer: String = "omnid") {
        self.line = line
        self.bias = bias
        self.activeLow = activeLow
        self.consumer = consumer
    }
}

/// A requested line. Used by one thread at a time (GPIOInputLine/GPIOOutputLine see to that).
public protocol GPIORequestedLine: AnyObject {
    /// The fd to poll for edges (inputs); -1 for outputs.
    var fileDescriptor: Int32 { get }
    /// The chip the line is on (e.g. "gpiochip0") and its offset there.
    var chipName: String { get }
    var offset: Int { get }
    /// Edges queued since the last call, without blocking (empty when none).
    func readEdges(max: Int) throws(GPIOError) -> [GPIOEdge]
    /// The logical level.
    func value() throws(GPIOError) -> Bool
    /// Drives an output line (logical level).
    func setValue(_ on: Bool) throws(GPIOError)
    /// Releases the line. Further calls fail.
    func close()
}

/// Opens lines. The real backend is `LibgpiodBackend`.
public protocol GPIOBackend: Sendable {
    /// An input with pull/bias, active-low and both-edge events.
    func openInput(_ spec: GPIOLineSpec) throws(GPIOError) -> any GPIORequestedLine
    /// An output, driven to `initial` at once.
    func openOutput(_ spec: GPIOLineSpec, initial: Bool) throws(GPIOError) -> any GPIORequestedLine
}

/// A GPIO failure, phrased for the person who edits the board file: it names the file, line and
/// key, what went wrong and how to fix it.
public struct GPIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Stage: String, Sendable, Equatable {
        case chip, line, request, io
    }

    public var stage: Stage
    public var code: Int32
    /// The chip involved, when known.
    public var chip: String
    public var line: GPIOLineRef
    /// Whether any /dev/gpiochip* exists (for the "no GPIO here" hint).
    public var chipsPresent: Bool
    public var bias: GPIOBias

    public init(stage: Stage, code: Int32, chip: String = "", line: GPIOLineRef, chipsPresent: Bool = true,
                bias: GPIOBias = .asIs) {
        self.stage = stage
        self.code = code
        self.chip = chip
        self.line = line
        self.chipsPresent = chipsPresent
        self.bias = bias
    }

    /// The key that holds the chip, next to the line's key (`button.chip`, `leds.chip`).
    var chipKey: String {
        if line.location.key == "camera.privacy_led" { return "camera.privacy_led_chip" }
        let section = line.location.key.split(separator: ".").first.map(String.init) ?? "board"
        return "\(section).chip"
    }

    public var message: String {
        let key = line.location.key
        switch (stage, code) {
        case (_, EACCES), (_, EPERM):
            let dev = chip.isEmpty ? "/dev/gpiochip*" : (chip.hasPrefix("/") ? chip : "/dev/\(chip)")
            return "permission denied opening \(dev); add the service user to the \"gpio\" group "
                + "(usermod -aG gpio USER, or SupplementaryGroups=gpio in the systemd unit) or add a udev rule giving that group /dev/gpiochip*"
        case (.chip, ENOENT), (.chip, ENODEV), (.chip, ENOTTY):
            if let c = line.chip {
                return "GPIO chip \"\(c)\" (\(chipKey)) not found; list the chips with `gpiodetect` and fix \(chipKey)"
            }
            return "no GPIO chips on this system; for a desktop without GPIO use [button] backend = \"keyboard\" and [leds] backend = \"virtual\""
        case (.line, _):
            if !chipsPresent {
                return "no GPIO chips on this system (no /dev/gpiochip*), so line \(line) cannot be found; "
                    + "for a desktop without GPIO use [button] backend = \"keyboard\" and [leds] backend = \"virtual\""
            }
            if let name = line.name {
                let whereText = line.chip.map { "on chip \"\($0)\"" } ?? "on any chip"
                return "no GPIO line named \"\(name)\" \(whereText); list the line names with `gpioinfo` and fix \(key) (or give \(chipKey) and an offset)"
            }
            return "chip \"\(line.chip ?? chip)\" has no line \(line.offset ?? -1); list its lines with `gpioinfo \(line.chip ?? chip)` and fix \(key)"
        case (.request, EBUSY):
            return "line \(line) is in use by another program (see `gpioinfo`); stop it or choose another line for \(key)"
        case (.request, EINVAL), (.request, EOPNOTSUPP), (.request, ENOTSUP):
            if bias != .asIs {
                let section = key.split(separator: ".").first.map(String.init) ?? "button"
                return "the kernel refused the line settings for \(line) (bias \"\(bias.rawValue)\" needs Linux 5.5 or later and a chip that supports it); "
                    + "set \(section).bias = \"as-is\" and fit an external pull resistor"
            }
            return "the kernel refused the line settings for \(line): \(Self.errnoText(code))"
        default:
            return "\(stage.rawValue) step failed for \(line)\(chip.isEmpty ? "" : " on \(chip)"): \(Self.errnoText(code))"
        }
    }

    /// `FILE:LINE: key: message`, like every config error.
    public var description: String { "\(line.location): \(message)" }

    /// The same failure as a config error (for `check-config` and the startup message).
    public var configError: ConfigError { line.location.error(message) }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Whether /dev has any GPIO chip device.
func gpioChipsPresent() -> Bool {
    guard let dir = opendir("/dev") else { return false }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name.hasPrefix("gpiochip") { return true }
    }
    return false
}

/// The real backend: libgpiod through the C shim.
public struct LibgpiodBackend: GPIOBackend {
    public init() {}

    /// "libgpiod 1.6.3 (v1 API)"
    public static var versionDescription: String {
        "libgpiod \(String(cString: omni_gpio_library_version())) (v\(omni_gpio_api()) API)"
    }

    public func openInput(_ spec: GPIOLineSpec) throws(GPIOError) -> any GPIORequestedLine {
        try open(spec) { s, e in omni_gpio_open_input(s, e) }
    }

    public func openOutput(_ spec: GPIOLineSpec, initial: Bool) throws(GPIOError) -> any GPIORequestedLine {
        try open(spec) { s, e in omni_gpio_open_output(s, initial ? 1 : 0, e) }
    }

    private func open(_ spec: GPIOLineSpec,
                      _ call: (UnsafePointer<omni_gpio_line_spec>, UnsafeMutablePointer<omni_gpio_error>) -> OpaquePointer?)
        throws(GPIOError) -> any GPIORequestedLine {
        var err = omni_gpio_error()
        let handle: OpaquePointer? = (spec.line.chip ?? "").withCString { chip in
            (spec.line.name ?? "").withCString { name in
                spec.consumer.withCString { consumer in
                    var s = omni_gpio_line_spec()
                    s.chip = chip
                    s.name = name
                    s.offset = UInt32(max(0, spec.line.offset ?? 0))
                    s.bias = Self.bias(spec.bias)
                    s.active_low = spec.activeLow ? 1 : 0
                    s.consumer = consumer
                    return call(&s, &err)
                }
            }
        }
        guard let handle else {
            let chip = withUnsafeBytes(of: err.chip) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            let stage: GPIOError.Stage = switch Int(err.stage) {
            case Int(OMNI_GPIO_STAGE_CHIP.rawValue): .chip
            case Int(OMNI_GPIO_STAGE_LINE.rawValue): .line
            case Int(OMNI_GPIO_STAGE_REQUEST.rawValue): .request
            default: .io
            }
            throw GPIOError(stage: stage, code: err.err, chip: chip, line: spec.line, chipsPresent: gpioChipsPresent(),
                            bias: spec.bias)
        }
        return LibgpiodLine(handle: handle, line: spec.line)
    }

    private static func bias(_ b: GPIOBias) -> Int32 {
        let v: omni_gpio_bias = switch b {
        case .asIs: OMNI_GPIO_BIAS_AS_IS
        case .disable: OMNI_GPIO_BIAS_DISABLE
        case .pullUp: OMNI_GPIO_BIAS_PULL_UP
        case .pullDown: OMNI_GPIO_BIAS_PULL_DOWN
        }
        return Int32(v.rawValue)
    }
}

/// One line requested through the shim.
final class LibgpiodLine: GPIORequestedLine {
    private var handle: OpaquePointer?
    private let line: GPIOLineRef
    private var buffer = [omni_gpio_edge](repeating: omni_gpio_edge(), count: 16)

    init(handle: OpaquePointer, line: GPIOLineRef) {
        self.handle = handle
        self.line = line
    }

    deinit { close() }

    var fileDescriptor: Int32 { handle.map { omni_gpio_fd($0) } ?? -1 }
    var chipName: String { handle.map { String(cString: omni_gpio_chip_name($0)) } ?? "" }
    var offset: Int { handle.map { Int(omni_gpio_offset($0)) } ?? -1 }

    private func failure(_ code: Int32) -> GPIOError {
        GPIOError(stage: .io, code: code, chip: chipName, line: line)
    }

    func readEdges(max: Int) throws(GPIOError) -> [GPIOEdge] {
        guard let handle else { throw failure(EBADF) }
        let want = Int32(min(max, buffer.count))
        let n = buffer.withUnsafeMutableBufferPointer { omni_gpio_read_edges(handle, $0.baseAddress, want) }
        if n < 0 { throw failure(-n) }
        return (0..<Int(n)).map { i in
            GPIOEdge(timestamp: .nanoseconds(Int64(truncatingIfNeeded: buffer[i].timestamp_ns)), rising: buffer[i].rising != 0)
        }
    }

    func value() throws(GPIOError) -> Bool {
        guard let handle else { throw failure(EBADF) }
        let v = omni_gpio_get_value(handle)
        if v < 0 { throw failure(-v) }
        return v != 0
    }

    func setValue(_ on: Bool) throws(GPIOError) {
        guard let handle else { throw failure(EBADF) }
        let r = omni_gpio_set_value(handle, on ? 1 : 0)
        if r < 0 { throw failure(-r) }
    }

    func close() {
        if let handle { omni_gpio_close(handle) }
        handle = nil
    }
}
