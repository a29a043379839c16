#if canImport(Glibc)
import Glibc
#endif
import OmniFuzz

// omni-fuzz, the driver of the fuzz targets (fuzz/README.md).
//
// Built by fuzz/run.sh with libFuzzer (`-sanitize=fuzzer,address -DOMNI_LIBFUZZER`):
//     omni-fuzz TARGET [libFuzzer flags] [CORPUS_DIR | FILE]...
// Built normally (`swift build`), it has no libFuzzer and replays inputs once each:
//     omni-fuzz TARGET FILE|DIR...
// so the package builds and tests without sanitizer flags, and a reproducer can be checked
// against any build.

@main
struct OmniFuzzMain {
    static func main() {
#if OMNI_LIBFUZZER
        // SwiftPM points the executable's `main` at this function, so libFuzzer's own main is
        // not linked; run its driver here instead. It calls LLVMFuzzerInitialize (below) first,
        // which takes the target name off the command line.
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
#else
        exit(replay(Array(CommandLine.arguments.dropFirst())))
#endif
    }
}

/// Writes a line to stderr with write(2): libc's `stderr` is a C global Swift 6 will not share.
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

func usage() -> Int32 {
    printError("usage: omni-fuzz TARGET [ARGS...]; TARGET is one of \(FuzzTarget.names)")
    return 2
}

#if OMNI_LIBFUZZER
/// The target named on the command line (the environment carries it to the processes that
/// libFuzzer's -fork and -jobs modes start, whose command lines no longer have it).
let selectedTarget: FuzzTarget? = getenv("OMNI_FUZZ_TARGET").flatMap { FuzzTarget(rawValue: String(cString: $0)) }

/// libFuzzer's driver (compiler-rt's FuzzerInterface.h); the runtime comes with -sanitize=fuzzer.
/// Declared by symbol name because Swift cannot import it without a C module of its own; its
/// arguments are plain pointers, passed the same way by Swift and C.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Called by libFuzzer before it reads its flags: `omni-fuzz json -max_len=4096 corpus` becomes
/// `omni-fuzz -max_len=4096 corpus` with OMNI_FUZZ_TARGET=json in the environment.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    if argc.pointee > 1, let av = argv.pointee, let first = av[1], FuzzTarget(rawValue: String(cString: first)) != nil {
        setenv("OMNI_FUZZ_TARGET", first, 1)
        for i in 1..<Int(argc.pointee) { av[i] = av[i + 1] }  // argv[argc] is NULL: it moves down too
        argc.pointee -= 1
    }
    guard selectedTarget != nil else { exit(usage()) }
    return 0
}

/// libFuzzer's entry point; also what other drivers (AFL++'s libAFLDriver) call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selectedTarget else { exit(usage()) }
    do {
        try target.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        // A broken property is a bug like a crash: abort so libFuzzer saves and minimizes it.
        printError("omni-fuzz finding: \(error)")
        abort()
    }
    return 0
}
#else
/// Runs every FILE (and every file in each DIR) once; 0 when none broke a property.
func replay(_ args: [String]) -> Int32 {
    guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count > 1 else { return usage() }
    var inputs = 0, findings = 0
    for path in args.dropFirst() {
        guard let files = filesUnder(path) else {
            printError("omni-fuzz: cannot read \(path)")
            return 2
        }
        for file in files {
            guard let bytes = readWholeFile(file) else {
                printError("omni-fuzz: cannot read \(file)")
                return 2
            }
            inputs += 1
            do { try target.run(bytes) } catch {
                findings += 1
                print("\(file): \(error)")
            }
        }
    }
    print("omni-fuzz \(target.rawValue): \(inputs) inputs, \(findings) findings")
    return findings == 0 ? 0 : 1
}

/// `path` itself, or the regular files directly in it (sorted), or nil if it cannot be read.
func filesUnder(_ path: String) -> [String]? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    guard (st.st_mode & S_IFMT) == S_IFDIR else { return [path] }
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var fst = stat()
        if !name.hasPrefix("."), stat(path + "/" + name, &fst) == 0, (fst.st_mode & S_IFMT) == S_IFREG { names.append(name) }
    }
    return names.sorted().map { path + "/" + $0 }
}

func readWholeFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        bytes += chunk[0..<n]
        if n < chunk.count { return ferror(f) == 0 ? bytes : nil }
    }
}
#endif
