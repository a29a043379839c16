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
            throw MissingPrerequisite("\(name) is not built at \(p); run `swift build` first (make test does)")
        }
        return p
    }
}

/// A child process whose stdout/stderr are collected; killed when released.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `out` and `err` are touched under `lock` only (reads from the pipes too, so a
    // drain after exit and a late readability callback cannot interleave).
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
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] h in self?.collect(h, stdout: true) }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in self?.collect(h, stdout: false) }
        try process.run()
    }

    private func collect(_ h: FileHandle, stdout: Bool) {
        lock.withLock {
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil }  // end of file
            if stdout { out.append(d) } else { err.append(d) }
        }
    }

    /// After the process has exited: whatever it wrote that the readability callbacks have not
    /// collected yet (they need not be called again at end of file).
    private func drain() {
        for (pipe, stdout) in [(outPipe, true), (errPipe, false)] {
            let h = pipe.fileHandleForReading
            h.readabilityHandler = nil
            lock.withLock {
                let rest = h.readDataToEndOfFile()
                if stdout { out.append(rest) } else { err.append(rest) }
            }
        }
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// Polls `condition` on the collected output until it holds or the process has ended (then
    /// with all its output in). The timeout is a hang guard.
    func waitFor(timeout: Double = TestGuard.seconds, _ condition: (ChildProcess) -> Bool) -> Bool {
        eventually(timeout: timeout) { condition(self) || !process.isRunning }
        if !condition(self) && !process.isRunning {
            process.waitUntilExit()
            drain()
        }
        return condition(self)
    }

    /// Waits until the process has exited, with everything it wrote collected. False (the
    /// process still running) only if it did not exit within the hang guard.
    @discardableResult
    func waitForExit(timeout: Double = TestGuard.seconds) -> Bool {
        guard eventually(timeout: timeout, { !process.isRunning }) else { return false }
        process.waitUntilExit()
        drain()
        return true
    }

    func signal(_ sig: Int32) { if process.isRunning { kill(process.processIdentifier, sig) } }

    /// Whether the process has a handler for `sig` yet (SigCgt in /proc/PID/status): omnid
    /// installs its SIGHUP/SIGTERM handling after starting its session, which may be ready first.
    func catches(_ sig: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << UInt64(sig - 1)) != 0
    }

    /// SIGTERM, then SIGKILL if it is still running after the hang guard; returns once it has
    /// exited and its output is all in.
    func terminateAndWait() {
        signal(SIGTERM)
        eventually(pollMicros: 10_000) { !process.isRunning }
        killAndWait()
    }

    func killAndWait() {
        signal(SIGKILL)
        process.waitUntilExit()
        drain()
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
        _ = child.waitFor { c in
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

extension Binaries {
    /// Runs one of the project's executables to completion and returns its exit status and
    /// everything it wrote (stdout and stderr together), read to EOF: nothing depends on timing.
    static func runToCompletion(_ name: String, _ arguments: [String], environment: [String: String]) throws
        -> (status: Int32, output: String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try path(name))
        p.arguments = arguments
        p.environment = environment
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
