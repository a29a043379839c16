#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import RealtimeProtocol

// `device = "file:DIR"`: the JPEG files of a directory, in name order, one per frame, cycling —
// a camera for the virtual board, the tests and the demo. The directory is listed again at every
// start, so files can be swapped between turns; a directory (or file) that disappears while
// frames are taken behaves like an unplugged camera (`.gone`), and one that comes back is used
// again, so the reopen path can be exercised without hardware.

public final class FileCameraSource: CameraSource {
    public let directory: String
    private let clock: any MonotonicClock
    private var files: [String] = []
    private var next = 0
    private var data = [UInt8]()
    private let store = ByteStore()

    /// A frame file larger than this is refused (a 1080p JPEG is well under 2 MiB).
    public static let maxFileBytes = 8 << 20

    public init(directory: String, clock: any MonotonicClock) {
        self.directory = directory
        self.clock = clock
    }

    public var name: String { "file:\(directory) (\(files.count) JPEG files)" }

    public func start() throws(CameraError) {
        files = try Self.jpegFiles(in: directory)
        guard !files.isEmpty else { throw CameraError(.notFound, "no .jpg or .jpeg files in \(directory)") }
    }

    public func nextFrame(timeout: Duration) throws(CameraError) -> RawFrame? {
        guard !files.isEmpty else { throw CameraError(.io, "\(directory): not started") }
        let path = "\(directory)/\(files[next % files.count])"
        next += 1
        try Self.read(path, into: &data)
        let bytes = store.store(data)
        let header: JPEGHeader
        do {
            header = try JPEGHeader.parse(bytes)
        } catch {
            throw CameraError(.io, "\(path) is not a readable JPEG: \(error)")
        }
        return RawFrame(format: .jpeg, width: header.width, height: header.height, stride: 0, bytes: bytes,
                        capturedAt: clock.now())
    }

    public func stop() {}

    public func close() { files = [] }

    // MARK: Files

    /// The names of the JPEG files in `directory`, sorted by name (byte order).
    static func jpegFiles(in directory: String) throws(CameraError) -> [String] {
        guard let dir = opendir(directory) else {
            let code = errno
            throw CameraError(code == ENOENT ? .gone : code == EACCES ? .permission : .io,
                              "cannot list \(directory): \(String(cString: strerror(code)))")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let lower = name.lowercased()
            if !name.hasPrefix("."), lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Reads a whole regular file into `out` (reusing its storage).
    static func read(_ path: String, into out: inout [UInt8]) throws(CameraError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw CameraError(code == ENOENT ? .gone : .io, "cannot open \(path): \(String(cString: strerror(code)))")
        }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw CameraError(.io, "\(path) is not a regular file") }
        let size = Int(st.st_size)
        guard size <= maxFileBytes else { throw CameraError(.io, "\(path) is \(size) bytes; frames may be at most \(maxFileBytes)") }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CameraError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= maxFileBytes else { throw CameraError(.io, "\(path) grew past \(maxFileBytes) bytes") }
        }
    }
}
