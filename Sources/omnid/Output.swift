#if canImport(Glibc)
import Glibc
#endif

/// Writes a line to stderr (print goes to stdout).
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}
