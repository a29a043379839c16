import CLibWebSockets
import CWebSocketShim
import Logging
import Synchronization

// libwebsockets has exactly one, process-wide log emitter and level mask. This routes it into
// swift-log (through the C trampoline in COmniShim/lws_log.c) so lws never writes to stderr on
// its own. Being process-wide, the logger installed last receives every lws line.

enum LWSLogging {
    private static let target = Mutex<Logger?>(nil)

    /// lws's levels mapped one step down: lws "errors" are mostly per-connection conditions that
    /// the transport also reports as typed events, and lws "notice" is start-up chatter.
    static func install(_ logger: Logger) {
        var routed = logger
        routed[metadataKey: "component"] = "libwebsockets"
        target.withLock { $0 = routed }
        omni_lws_log_route(levels(for: logger.logLevel), sink)
    }

    private static func levels(for level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: LLL_ERR | LLL_WARN | LLL_NOTICE
        case .info, .notice, .warning: LLL_ERR | LLL_WARN
        case .error, .critical: LLL_ERR
        }
    }

    // A C function pointer cannot capture, so it reads the logger from the static above.
    private static let sink: omni_lws_log_sink = { level, line, length in
        guard let line, let logger = LWSLogging.target.withLock({ $0 }) else { return }
        let text = String(decoding: UnsafeRawBufferPointer(start: line, count: length), as: UTF8.self)
        switch level {
        case LLL_ERR: logger.error("lws: \(text)")
        case LLL_WARN: logger.warning("lws: \(text)")
        case LLL_NOTICE: logger.debug("lws: \(text)")
        default: logger.trace("lws: \(text)")
        }
    }
}
