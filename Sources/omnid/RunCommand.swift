import ArgumentParser
import Dispatch
import Logging
import OmniCore
import OmniLinux
import OmniSystem
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the appliance (the default when no subcommand is given).")

    @Option(name: .long, help: "Configuration file.")
    var config: String = "/etc/omni.conf"

    func run() throws {
        let loaded = try loadConfigOrExit(config)
        OmniLogging.bootstrap(level: loaded.config.log.level.loggerLevel)
        let logger = Logger(label: "omnid")
        for w in loaded.warnings { logger.warning("\(w)") }
        if loaded.config.apiKey == nil && !ServiceURL.isLoopback(loaded.config.service.effectiveURL) {
            printError("error: \(config): service: no API key; set api_key_file, the systemd credential "
                + "\"\(loaded.config.service.apiKeyCredential)\", or DASHSCOPE_API_KEY")
            throw ExitCode(exitConfigError)
        }
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
