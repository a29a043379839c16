import ArgumentParser
import OmniLinux

struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Press, release or tap the button, or show the status, through the control socket.")

    enum Verb: String, ExpressibleByArgument, CaseIterable {
        case press, release, tap, status
    }

    @Option(name: .long, help: "Control socket of the running omnid.")
    var socket: String = "/run/omnid/control.sock"

    @Flag(name: .long, help: "With status: print JSON.")
    var json = false

    @Argument(help: "press | release | tap | status")
    var verb: Verb

    func run() throws {
        let (output, code) = ControlClient.run(command: verb.rawValue, socket: socket, json: json)
        if code == 0 { print(output) } else { printError(output) }
        if code != 0 { throw ExitCode(code) }
    }
}
