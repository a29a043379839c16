#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniTOML

// Plain file access for the config loader and friends (Foundation is not shipped on the device).

public enum Files {
    /// A whole regular file of at most `limit` bytes. Opened non-blocking, so a FIFO, a device or
    /// a socket put where a config or key file belongs is refused at once instead of blocking
    /// startup; a larger file is refused, never cut.
    public static func readRegularFile(_ path: String, limit: Int) -> Result<String, FileReadFailure> {
        readRegularFileBytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of a whole regular file of at most `limit` bytes (WAV files, impulse responses).
    public static func readRegularFileBytes(_ path: String, limit: Int) -> Result<[UInt8], FileReadFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .failure(FileReadFailure(String(cString: strerror(errno)).lowercased())) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(FileReadFailure(String(cString: strerror(errno)).lowercased())) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            return .failure(FileReadFailure("is \(fileTypeName(st.st_mode)), not a regular file"))
        }
        guard st.st_size <= limit else {
            return .failure(FileReadFailure("is \(st.st_size) bytes; the limit is \(limit) bytes"))
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(FileReadFailure(String(cString: strerror(errno)).lowercased()))
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            // The file grew after fstat (or lies about its size, as /proc files do).
            if out.count > limit { return .failure(FileReadFailure("is more than \(limit) bytes; the limit is \(limit) bytes")) }
        }
        return .success(out)
    }

    static func fileTypeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "not a regular file"
        }
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
            parseTOML: TOMLPlusPlus.parse, read: { readRegularFile($0, limit: $1) }, fileMode: { mode($0) }, environment: env,
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
