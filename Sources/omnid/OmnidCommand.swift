#if canImport(Glibc)
import Glibc
#endif

// omnid's command line: five subcommands and a handful of options, parsed here by hand.
// (swift-argument-parser brought FoundationEssentials, its JSON encoder and Swift's Regex
// engine into the static binary — about a quarter of its 16.8 MB and a megabyte of pages
// touched at every start — for a command line this small. omni-sim, a development tool,
// still uses it.)

@main
enum Omnid {
    static func main() {
        exit(OmnidCommandLine.run(Array(CommandLine.arguments.dropFirst())))
    }
}

/// Exit status for a configuration error: sysexits.h EX_CONFIG, which the systemd unit lists in
/// RestartPreventExitStatus= so a broken file does not cause a restart loop.
let exitConfigError: Int32 = 78

/// Thrown by a command to end with `code` (what it had to say is already printed).
struct ExitCode: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
}

/// A command line that does not fit the command: printed with its usage, exit status 64
/// (EX_USAGE).
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One subcommand: its options and how to run it.
struct CommandInfo: Sendable {
    struct Option: Sendable {
        var name: String
        /// nil: a flag (no value).
        var valueName: String?
        var help: String
        var defaultValue: String?
    }

    var name: String
    var abstract: String
    var options: [Option] = []
    /// (name, help) of the one positional argument, if any.
    var argument: (name: String, help: String)?
    var run: @Sendable (ParsedArguments) throws -> Void

    var usage: String {
        var line = "usage: omnid \(name)"
        for o in options { line += o.valueName.map { " [--\(o.name) <\($0)>]" } ?? " [--\(o.name)]" }
        if let a = argument { line += " <\(a.name)>" }
        return line
    }

    var help: String {
        var text = "\(abstract)\n\n\(usage)\n"
        if let a = argument { text += "\n  <\(a.name)>  \(a.help)" }
        for o in options {
            let head = "--\(o.name)" + (o.valueName.map { " <\($0)>" } ?? "")
            text += "\n  \(head)  \(o.help)" + (o.defaultValue.map { " (default: \($0))" } ?? "")
        }
        return text + "\n  -h, --help  Show this help."
    }

    /// `--name value`, `--name=value`, flags, and at most one positional argument.
    func parse(_ args: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var i = 0
        while i < args.count {
            let arg = args[i]
            i += 1
            if arg == "-h" || arg == "--help" {
                parsed.help = true
            } else if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                guard let option = options.first(where: { $0.name == name }) else {
                    throw UsageError("unknown option '--\(name)'")
                }
                if option.valueName == nil {
                    guard !body.contains("=") else { throw UsageError("--\(name) takes no value") }
                    parsed.flags.insert(name)
                } else if let eq = body.firstIndex(of: "=") {
                    parsed.values[name] = String(body[body.index(after: eq)...])
                } else {
                    guard i < args.count else { throw UsageError("missing value for '--\(name)'") }
                    parsed.values[name] = args[i]
                    i += 1
                }
            } else if argument != nil && parsed.argument == nil {
                parsed.argument = arg
            } else {
                throw UsageError("unexpected argument '\(arg)'")
            }
        }
        if !parsed.help, let a = argument, parsed.argument == nil { throw UsageError("missing <\(a.name)>") }
        for o in options where parsed.values[o.name] == nil { parsed.values[o.name] = o.defaultValue }
        return parsed
    }
}

/// What the command line said, for a command's `run`.
struct ParsedArguments {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var argument: String?
    var help = false

    func string(_ name: String) -> String { values[name] ?? "" }

    func flag(_ name: String) -> Bool { flags.contains(name) }

    func number(_ name: String) throws(UsageError) -> Double {
        guard let v = Double(string(name)), v.isFinite else {
            throw UsageError("--\(name) must be a number, not '\(string(name))'")
        }
        return v
    }
}

enum OmnidCommandLine {
    static let commands = [RunCommand.info, CheckConfigCommand.info, CtlCommand.info, DevicesCommand.info,
                           TestAudioCommand.info, TestCameraCommand.info]

    static var overview: String {
        var text = "Voice appliance daemon for the Qwen-Omni-Realtime service.\n\n"
            + "usage: omnid [<subcommand>] [options]   (default subcommand: run)\n\nsubcommands:"
        for c in commands { text += "\n  \(c.name)" + String(repeating: " ", count: max(1, 14 - c.name.count)) + c.abstract }
        return text + "\n\nSee 'omnid help <subcommand>' or 'omnid <subcommand> --help'."
    }

    /// Runs the command line; returns the exit status.
    static func run(_ arguments: [String]) -> Int32 {
        var args = arguments
        var command = RunCommand.info
        if let first = args.first {
            if first == "help" || first == "-h" || first == "--help" {
                if first == "help", args.count > 1 {
                    guard let c = commands.first(where: { $0.name == args[1] }) else {
                        printError("error: unknown subcommand '\(args[1])'\n\n\(overview)")
                        return 64
                    }
                    print(c.help)
                } else {
                    print(overview)
                }
                return 0
            }
            if let c = commands.first(where: { $0.name == first }) {
                command = c
                args.removeFirst()
            } else if !first.hasPrefix("-") {
                printError("error: unknown subcommand '\(first)'\n\n\(overview)")
                return 64
            }
        }
        do {
            let parsed = try command.parse(args)
            if parsed.help {
                print(command.help)
                return 0
            }
            try command.run(parsed)
            return 0
        } catch let e as ExitCode {
            return e.code
        } catch let e as UsageError {
            printError("error: \(e)\n\(command.usage)")
            return 64
        } catch {
            printError("error: \(error)")
            return 1
        }
    }
}
