import Foundation
import OmniSystem
import XCTest

/// Lifecycle promises to systemd (issue 11): every RELOADING=1 is followed by READY=1, and
/// SIGTERM ends the process even when a DNS lookup hangs inside the websocket thread.
final class OmnidShutdownAndReloadTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-lifecycle-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A datagram socket standing in for systemd's NOTIFY_SOCKET.
    final class NotifySocket {
        let fd: Int32
        let path: String
        var messages: [String] = []

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            let addr = try XCTUnwrap(UnixSocketAddress(path))
            XCTAssertEqual(addr.withSockaddr { bind(fd, $0, $1) }, 0)
            var tv = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Reads messages until `done` holds; the deadline only guards against a hang.
        @discardableResult
        func receive(guardSeconds: TimeInterval = 30, until done: ([String]) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(guardSeconds)
            var buf = [UInt8](repeating: 0, count: 4096)
            while !done(messages) {
                if Date() > deadline { return false }
                let n = recv(fd, &buf, buf.count, 0)
                if n > 0 { messages.append(String(decoding: buf[0..<n], as: UTF8.self)) }
            }
            return true
        }
    }

    func testEveryReloadEndsWithReadyWhetherOrNotTheFileWasTaken() throws {
        let sim = try SimProcess()
        let notify = try NotifySocket(path: "\(dir)/notify")
        let conf = "\(dir)/omni.conf"
        let good = "[service]\nurl = \"\(sim.url)\"\n[audio]\ncapture = \"null\"\nplayback = \"null\"\n[control]\nsocket = \"\(dir)/ctl.sock\"\n"
        try good.write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-test"
        env["NOTIFY_SOCKET"] = notify.path
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.terminateAndWait() }
        XCTAssertTrue(notify.receive { $0.contains { $0.hasPrefix("READY=1") } }, "\(notify.messages) \(omnid.stderr)")

        func reloadIsAnsweredWithReady() -> Bool {
            let before = notify.messages.count
            omnid.signal(SIGHUP)
            return notify.receive { m in
                let new = m.dropFirst(before)
                guard let r = new.firstIndex(where: { $0.hasPrefix("RELOADING=1") }) else { return false }
                return new[r...].contains { $0.hasPrefix("READY=1") }
            }
        }
        XCTAssertTrue(reloadIsAnsweredWithReady(), "a good reload: \(notify.messages)")
        try (good + "[log]\nlevle = 1\n").write(toFile: conf, atomically: true, encoding: .utf8)
        XCTAssertTrue(reloadIsAnsweredWithReady(), "a refused reload: \(notify.messages)")
        // stderr arrives through a pipe of its own: wait for the line rather than race READY=1.
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("reload failed, keeping the running configuration") }, omnid.stderr)
    }

    /// getaddrinfo() that never returns, preloaded into omnid, as with a dead DNS server. The
    /// lookup runs on a resolver thread of its own (LWSResolver), so SIGTERM ends the process
    /// cleanly, status 0, without the daemon's hard-stop backstop (which would also exit 0).
    func testSIGTERMEndsTheProcessWhileDNSHangs() throws {
        let source = "\(dir)/hang.c"
        try """
            #include <netdb.h>
            #include <unistd.h>
            int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
                (void)node; (void)service; (void)hints; (void)res;
                for (;;) pause();
            }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        cc.arguments = ["-shared", "-fPIC", "-O2", "-o", "\(dir)/hang.so", source]
        try cc.run()
        cc.waitUntilExit()
        XCTAssertEqual(cc.terminationStatus, 0, "building the getaddrinfo stand-in failed")

        let conf = "\(dir)/omni.conf"
        try "[service]\nurl = \"wss://dns-hangs.example.invalid/rt\"\n[audio]\ncapture = \"null\"\nplayback = \"null\"\n[control]\nsocket = \"\(dir)/ctl.sock\"\n"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-test"
        env["OMNID_AUDIO_PACING"] = "clock"
        env["LD_PRELOAD"] = "\(dir)/hang.so"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf], environment: env)
        defer { omnid.killAndWait() }
        // The connect attempt is under way once this is logged, and stuck in the lookup while
        // the resolver thread lives.
        XCTAssertTrue(omnid.waitFor { $0.stderr.contains("connecting to wss://dns-hangs.example.invalid") }, omnid.stderr)
        let pid = omnid.process.processIdentifier
        XCTAssertTrue(eventually { Self.threadNames(pid).contains("omni-resolver") }, "no lookup under way: \(Self.threadNames(pid))")
        let start = Date()
        omnid.signal(SIGTERM)
        XCTAssertTrue(omnid.waitFor { !$0.process.isRunning }, "omnid did not exit after SIGTERM:\n\(omnid.stderr)")
        print("SIGTERM → exit with DNS hanging: \(Int(Date().timeIntervalSince(start) * 1000)) ms (a figure, not asserted)")
        XCTAssertEqual(omnid.process.terminationReason, .exit, omnid.stderr)
        XCTAssertEqual(omnid.process.terminationStatus, 0, omnid.stderr)
        XCTAssertTrue(omnid.stderr.contains("stopping"), omnid.stderr)
        XCTAssertFalse(omnid.stderr.contains("shutdown did not finish"), "the backstop ended it, not a clean stop:\n\(omnid.stderr)")
    }

    /// The names of a process's threads (/proc/PID/task/*/comm).
    static func threadNames(_ pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
