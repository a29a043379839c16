import Dispatch
import Logging
import OmniCore
import OmniLinux
import OmniSystem
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand {
    static let info = CommandInfo(
        name: "run", abstract: "Run the appliance (the default when no subcommand is given).",
        options: [.init(name: "config", valueName: "path", help: "Configuration file.", defaultValue: "/etc/omni.conf")]
    ) { try RunCommand(config: $0.string("config")).run() }

    var config: String

    func run() throws {
        let loaded = try loadConfigOrExit(config)
        OmniLogging.bootstrap(level: loaded.config.log.level.loggerLevel)
        let logger = Logger(label: "omnid")
        for w in loaded.warnings { logger.warning("\(w)") }
        HeapPolicy.returnBigBuffers()
        do {
            let daemon = try Daemon(config: loaded.config, configPath: config, logger: logger)
            try daemon.start()
        } catch let e as StartupConfigError {
            logger.critical("\(e)")
            printError("error: \(e)")
            throw ExitCode(exitConfigError)
        }
        dispatchMain()
    }
}

extension LogLevelName {
    var loggerLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
