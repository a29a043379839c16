import Logging
import OmniCore

// One call for the button the board file asks for: a GPIO line, the keyboard, or none. (The
// control socket's software button is always there as well; see ControlServer.)

/// A running button source.
public protocol ApplianceButtonInput: Sendable {
    /// Stops reading and releases what it holds (the GPIO line, the terminal mode).
    func shutdown()
}

extension GPIOButton: ApplianceButtonInput {
    public func shutdown() {
        stop()
        line.close()
    }
}

extension KeyboardButton: ApplianceButtonInput {
    public func shutdown() { stop() }
}

public enum ApplianceButtons {
    /// Starts the board's button. nil for `backend = "none"` (or no [button] section).
    /// Errors are startup errors naming the board-file key and the fix.
    public static func start(_ config: ButtonBoardConfig, backend: any GPIOBackend = LibgpiodBackend(),
                             logger: Logger = Logger(label: "omnid.button"),
                             onEvent: @escaping @Sendable (GestureEvent) -> Void) throws(ConfigError) -> (any ApplianceButtonInput)? {
        switch config.backend {
        case .none:
            logger.info("no button configured; use the control socket (omnid ctl press/release)")
            return nil
        case .keyboard:
            do {
                let k = try KeyboardButton(gestures: config.gestures, logger: logger, onEvent: onEvent)
                try k.start()
                return k
            } catch {
                throw ConfigError(file: config.line?.location.file ?? "board", line: nil, key: "button.backend",
                                  message: "the keyboard button could not start: \(error)")
            }
        case .gpio:
            guard let spec = GPIOLineSpec.button(config) else {
                throw ConfigError(file: "board", line: nil, key: "button.line", message: "is required with backend = \"gpio\"")
            }
            do {
                let line = try GPIOInputLine(backend: backend, spec: spec)
                let button: GPIOButton
                do {
                    button = try GPIOButton(line: line, gestures: config.gestures, logger: logger, onEvent: onEvent)
                } catch {
                    line.close()
                    throw spec.line.location.error("the button thread could not start: \(error)")
                }
                do {
                    try button.start()
                } catch {
                    line.close()
                    throw error.configError
                }
                return button
            } catch let error as GPIOError {
                throw error.configError
            } catch let error as ConfigError {
                throw error
            } catch {
                throw spec.line.location.error("\(error)")
            }
        }
    }
}
