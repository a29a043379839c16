import ArgumentParser
import OmniCore
import OmniLinux

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print the effective settings (API key redacted).")

    @Option(name: .long, help: "Configuration file.")
    var config: String = "/etc/omni.conf"

    func run() throws {
        let loaded = try loadConfigOrExit(config)
        for w in loaded.warnings { printError("warning: \(w)") }
        print(loaded.config.effectiveTOML, terminator: "")
    }
}
