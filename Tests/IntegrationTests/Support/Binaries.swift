import Foundation
import XCTest

// Locating and running the project's own executables from integration tests. Foundation's
// Process is fine here: tests do not ship on the device.

enum Binaries {
    /// The repository root (this file is Tests/IntegrationTests/Support/Binaries.swift).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The build products folder: where this test binary lives, else .build/debug.
    static var productsDir: URL {
        if let dir = ProcessInfo.processInfo.environment["OMNI_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // .build/debug/omnidPackageTests.xctest (a file on Linux)
        while url.path != "/" {
            url = url.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("omni-sim").path) { return url }
        }
        return repoRoot.appendingPathComponent(".build/debug")
    }

    static func path(_ name: String) throws -> String {
        let p = productsDir.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw XCTSkip("\(name) is not built at \(p); run `swift build` first (make test does)")
        }
        return p
    }
}

/// A child process whose stdout/stderr are collected; killed when released.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = outPipe
        process.standardError = errPipe
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.out.append(d) }
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.err.append(d) }
        }
        try process.run()
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// Polls `condition` on the collected output until it holds or `timeout` passes.
    func waitFor(_ timeout: TimeInterval, _ condition: (ChildProcess) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition(self) { return true }
            if !process.isRunning { return condition(self) }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return condition(self)
    }

    func signal(_ sig: Int32) { if process.isRunning { kill(process.processIdentifier, sig) } }

    func terminateAndWait() {
        signal(SIGTERM)
        let end = Date().addingTimeInterval(5)
        while process.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.01) }
        signal(SIGKILL)
        process.waitUntilExit()
    }

    func killAndWait() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        outPipe.fileHandleForReading.readabilityHandler = nil
        errPipe.fileHandleForReading.readabilityHandler = nil
    }
}

/// omni-sim on loopback; `port` is the one it reports after binding.
final class SimProcess {
    let child: ChildProcess
    let port: Int

    init(port: Int = 0, arguments: [String] = []) throws {
        let bin = try Binaries.path("omni-sim")
        child = try ChildProcess(bin, ["--listen", "127.0.0.1:\(port)"] + arguments)
        var found: Int?
        _ = child.waitFor(10) { c in
            if let r = c.stdout.range(of: "listening on 127.0.0.1:") {
                let digits = c.stdout[r.upperBound...].prefix { $0.isNumber }
                found = Int(digits)
            }
            return found != nil
        }
        guard let found else {
            child.killAndWait()
            throw NSError(domain: "omni-sim", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "omni-sim did not report its port; stderr: \(child.stderr)"])
        }
        self.port = found
    }

    var url: String { "ws://127.0.0.1:\(port)/api-ws/v1/realtime" }
}
