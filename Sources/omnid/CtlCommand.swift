import ArgumentParser
import OmniLinux

struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Press, release or tap the button (or make a gesture), or show the status, through the control socket.")

    enum Verb: String, ExpressibleByArgument, CaseIterable {
        case press, release, tap, status
        /// The gestures themselves (the virtual board's way to a look turn: double-press, then press).
        case longPress = "long-press", doublePress = "double-press"
    }

    @Option(name: .long, help: "Control socket of the running omnid.")
    var socket: String = "/run/omnid/control.sock"

    @Flag(name: .long, help: "With status: print JSON.")
    var json = false

    // A wedged or stopping daemon must cost a script an error (exit status 1), not a hang.
    @Option(name: .long, help: "Seconds to wait for omnid to answer before giving up (exit status 1).")
    var timeout: Double = 3

    @Argument(help: "press | release | tap | long-press | double-press | status")
    var verb: Verb

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
    }

    func run() throws {
        let (output, code) = ControlClient.run(command: verb.rawValue, socket: socket, json: json,
                                               timeout: .milliseconds(Int64((timeout * 1000).rounded(.up))))
        if code == 0 { print(output) } else { printError(output) }
        if code != 0 { throw ExitCode(code) }
    }
}
