import OmniLinux

struct CtlCommand {
    /// The gestures themselves too: the virtual board's way to a look turn (double-press, then press).
    static let verbs = ["press", "release", "tap", "long-press", "double-press", "status"]

    static let info = CommandInfo(
        name: "ctl", abstract: "Press, release or tap the button (or make a gesture), or show the status, through the control socket.",
        options: [
            .init(name: "socket", valueName: "path", help: "Control socket of the running omnid.",
                  defaultValue: "/run/omnid/control.sock"),
            .init(name: "json", valueName: nil, help: "With status: print JSON."),
            // A wedged or stopping daemon must cost a script an error (exit status 1), not a hang.
            .init(name: "timeout", valueName: "seconds",
                  help: "Seconds to wait for omnid to answer before giving up (exit status 1).", defaultValue: "3"),
        ],
        argument: ("verb", "press | release | tap | long-press | double-press | status")
    ) { a in
        let verb = a.argument ?? ""
        guard verbs.contains(verb) else { throw UsageError("<verb> must be one of \(verbs.joined(separator: ", ")), not '\(verb)'") }
        let timeout = try a.number("timeout")
        guard timeout > 0, timeout <= 3600 else { throw UsageError("--timeout must be between 0 and 3600 seconds") }
        try CtlCommand(socket: a.string("socket"), json: a.flag("json"), timeout: timeout, verb: verb).run()
    }

    var socket: String
    var json: Bool
    var timeout: Double
    var verb: String

    func run() throws {
        let (output, code) = ControlClient.run(command: verb, socket: socket, json: json,
                                               timeout: .milliseconds(Int64((timeout * 1000).rounded(.up))))
        if code == 0 { print(output) } else { printError(output) }
        if code != 0 { throw ExitCode(code) }
    }
}
