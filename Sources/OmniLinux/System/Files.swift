#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniTOML

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
            parseTOML: TOMLPlusPlus.parse, readFile: { read($0) }, fileMode: { mode($0) }, environment: env,
            boardDirectory: boardDirectory ?? Self.boardDirectory(environment: env))
    }

    public static let installedBoardDirectory = "/usr/share/omnid/boards"

    /// Where `[board] name = "…"` is looked up: `OMNID_BOARD_DIR` when set; else the installed
    /// boards; else, for an `omnid` run straight from a checkout (`<repo>/.build/<config>/omnid`)
    /// on a machine where the package is not installed, the repository's own `board/` folder, so a
    /// newcomer's first run finds the virtual board.
    public static func boardDirectory(environment env: [String: String]) -> String {
        if let dir = env["OMNID_BOARD_DIR"], !dir.isEmpty { return dir }
        if isDirectory(installedBoardDirectory) { return installedBoardDirectory }
        var dir = executablePath() ?? ""
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/"), slash > dir.startIndex else { break }
            dir = String(dir[..<slash])
            if access(dir + "/Package.swift", F_OK) == 0, isDirectory(dir + "/board") { return dir + "/board" }
        }
        return installedBoardDirectory
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// This process's executable, resolved through /proc (symlinks followed).
    static func executablePath() -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
