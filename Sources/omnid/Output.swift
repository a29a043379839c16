import OmniCore
import OmniLinux
#if canImport(Glibc)
import Glibc
#endif

/// Writes a line to stderr (print goes to stdout).
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

/// Loads and validates the config for a subcommand (`run` and `check-config` alike: one path);
/// on error prints `FILE:LINE: key: …` and exits with EX_CONFIG (78), which the unit does not
/// restart.
func loadConfigOrExit(_ path: String) throws -> LoadedConfig {
    do {
        let loaded = try ConfigLoader.load(path: path, env: Files.configEnvironment())
        try ConfigLoader.checkRunnable(loaded)
        return loaded
    } catch {
        printError("error: \(error)")
        throw ExitCode(exitConfigError)
    }
}
