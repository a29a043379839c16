import ArgumentParser

@main
struct Omnid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omnid",
        abstract: "Voice appliance daemon for the Qwen-Omni-Realtime service.",
        subcommands: [RunCommand.self, CheckConfigCommand.self, CtlCommand.self, DevicesCommand.self, TestAudioCommand.self,
                      TestCameraCommand.self],
        defaultSubcommand: RunCommand.self)
}

/// Exit status for a configuration error: sysexits.h EX_CONFIG, which the systemd unit lists in
/// RestartPreventExitStatus= so a broken file does not cause a restart loop.
let exitConfigError: Int32 = 78
