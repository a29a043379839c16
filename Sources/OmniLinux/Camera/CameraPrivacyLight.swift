import Logging
import OmniCore
import Synchronization

// The camera's privacy LED: on exactly while frames are being captured. The capture thread turns
// it on before it starts the camera and off after it has stopped it (or lost it), so there is no
// moment of capture with the LED dark.

public protocol CameraPrivacyLight: Sendable {
    func set(_ on: Bool)
}

/// No LED.
public struct NoPrivacyLight: CameraPrivacyLight {
    public init() {}
    public func set(_ on: Bool) {}
}

/// `privacy_led = "virtual"`: one log line per change ("camera LED: on").
public final class LoggedPrivacyLight: CameraPrivacyLight {
    private let logger: Logger
    private let state = Mutex(false)

    public init(logger: Logger) {
        self.logger = logger
    }

    public func set(_ on: Bool) {
        let changed = state.withLock { s in
            defer { s = on }
            return s != on
        }
        if changed { logger.info("camera LED: \(on ? "on" : "off")") }
    }
}

/// A GPIO output line.
public final class GPIOPrivacyLight: CameraPrivacyLight {
    private let line: GPIOOutputLine
    private let logger: Logger
    private let failed = Atomic<Bool>(false)

    public init(line: GPIOOutputLine, logger: Logger) {
        self.line = line
        self.logger = logger
    }

    /// A failed write requests the line again (its chip went away and came back, e.g. a driver
    /// unbound and bound: seen in the VM test, where the LED otherwise stayed dark for good).
    public func set(_ on: Bool) {
        do {
            try line.set(on)
            return
        } catch {
            if !failed.exchange(true, ordering: .relaxed) {
                logger.error("camera privacy LED failed: \(error.message); requesting the line again at each change")
            }
        }
        do {
            try line.reopen(level: on)
            failed.store(false, ordering: .relaxed)
            logger.notice("camera privacy LED back on \(line.resolved)")
        } catch {
            // Still gone; the next change tries again.
        }
    }
}

extension GPIOPrivacyLight {
    /// The light the config asks for; the GPIO line is requested here, dark.
    public static func make(_ config: CameraPrivacyLED, backend: any GPIOBackend, logger: Logger) throws(GPIOError)
        -> any CameraPrivacyLight
    {
        switch config {
        case .none: return NoPrivacyLight()
        case .virtual: return LoggedPrivacyLight(logger: logger)
        case .gpio(let ref, let activeLow):
            let spec = GPIOLineSpec(line: ref, bias: .asIs, activeLow: activeLow, consumer: "omnid camera led")
            let line = try GPIOOutputLine(backend: backend, spec: spec, initial: false)
            logger.info("camera privacy LED on \(line.resolved)")
            return GPIOPrivacyLight(line: line, logger: logger)
        }
    }
}
