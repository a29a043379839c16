import OmniCore
import OmniLinux

struct CheckConfigCommand {
    static let info = CommandInfo(
        name: "check-config", abstract: "Validate the configuration and print the effective settings (API key redacted).",
        options: [.init(name: "config", valueName: "path", help: "Configuration file.", defaultValue: "/etc/omni.conf")]
    ) { try CheckConfigCommand(config: $0.string("config")).run() }

    var config: String

    func run() throws {
        let loaded = try loadConfigOrExit(config)
        for w in loaded.warnings { printError("warning: \(w)") }
        print(loaded.config.effectiveTOML, terminator: "")
    }
}
