import Foundation
import OmniSystem
import XCTest

/// omnid under a fake systemd: READY=1 after the first session is configured, STATUS= with the
/// state, WATCHDOG=1 from the controller loop, STOPPING=1 on SIGTERM.
final class SystemdNotifyTests: XCTestCase {
    func testReadyStatusWatchdogAndStopping() throws {
        let sim = try SimProcess()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sockPath = dir.appendingPathComponent("notify").path

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let addr = try XCTUnwrap(UnixSocketAddress(sockPath))
        let bound = addr.withSockaddr { bind(fd, $0, $1) }
        XCTAssertEqual(bound, 0)
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        let conf = dir.appendingPathComponent("omni.conf")
        // ALSA's null devices, paced by omnid's clock: READY=1 needs the audio devices open.
        try "[service]\nurl = \"\(sim.url)\"\n[audio]\ncapture = \"null\"\nplayback = \"null\"\n[control]\nsocket = \"\(dir.path)/ctl.sock\"\n"
            .write(to: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = "sk-test"
        env["NOTIFY_SOCKET"] = sockPath
        env["WATCHDOG_USEC"] = "400000"
        env["OMNID_AUDIO_PACING"] = "clock"
        let omnid = try ChildProcess(try Binaries.path("omnid"), ["run", "--config", conf.path], environment: env)

        var messages: [String] = []
        /// Collects notifications until `done` holds (the timeout is a hang guard; recv wakes up
        /// every 100 ms to check it).
        func receive(_ done: ([String]) -> Bool) {
            var buf = [UInt8](repeating: 0, count: 4096)
            eventually(pollMicros: 0) {
                let n = recv(fd, &buf, buf.count, 0)
                if n > 0 { messages.append(String(decoding: buf[0..<n], as: UTF8.self)) }
                return done(messages)
            }
        }
        receive { m in
            m.contains { $0.contains("READY=1") } && m.filter { $0 == "WATCHDOG=1" }.count >= 2
        }
        XCTAssertTrue(messages.contains { $0.hasPrefix("READY=1\nSTATUS=") }, "\(messages) \(omnid.stderr)")
        XCTAssertTrue(messages.contains("READY=1\nSTATUS=ready"), "\(messages)")
        XCTAssertFalse(messages.contains { $0.hasPrefix("STATUS=error") }, "\(messages) \(omnid.stderr)")
        XCTAssertGreaterThanOrEqual(messages.filter { $0 == "WATCHDOG=1" }.count, 2, "\(messages)")
        XCTAssertTrue(omnid.waitFor { $0.catches(SIGTERM) }, "omnid never set up its SIGTERM handling")
        omnid.signal(SIGTERM)
        receive { $0.contains("STOPPING=1") }
        XCTAssertTrue(messages.contains("STOPPING=1"))
        guard omnid.waitForExit() else {
            omnid.killAndWait()
            return XCTFail("omnid did not exit after SIGTERM: \(omnid.stderr)")
        }
        XCTAssertEqual(omnid.process.terminationStatus, 0)
    }
}
