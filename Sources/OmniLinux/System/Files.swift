#if canImport(Glibc)
import Glibc
#endif
import OmniCore

// Plain file access for the config loader and friends (Foundation is not shipped on the device).

public enum Files {
    public static func read(_ path: String, limit: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16_384)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func mode(_ path: String) -> UInt32? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt32(st.st_mode & 0o7777)
    }

    public static func environment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return env
    }

    /// The loader's view of the real machine.
    public static func configEnvironment(boardDirectory: String? = nil) -> ConfigEnvironment {
        let env = environment()
        return ConfigEnvironment(
            readFile: { read($0) }, fileMode: { mode($0) }, environment: env,
            boardDirectory: boardDirectory ?? env["OMNID_BOARD_DIR"] ?? "/usr/share/omnid/boards")
    }
}
