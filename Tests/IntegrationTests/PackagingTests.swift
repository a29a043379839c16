import Foundation
import XCTest

/// The systemd unit passes systemd's own checks, and the .deb installs the right files with the
/// right modes.
final class PackagingTests: XCTestCase {
    /// Runs a command to its end. Building the .deb compresses the binary, which takes minutes
    /// on a busy machine: the hang guard is five times the usual one.
    func run(_ exe: String, _ args: [String], env: [String: String]? = nil) throws -> (Int32, String) {
        let child = try ChildProcess(exe, args, environment: env)
        guard child.waitForExit(timeout: 5 * TestGuard.seconds) else {
            child.killAndWait()
            XCTFail("\(exe) \(args.joined(separator: " ")) did not finish: \(child.stdout + child.stderr)")
            return (-1, child.stdout + child.stderr)
        }
        return (child.process.terminationStatus, child.stdout + child.stderr)
    }

    /// systemd-analyze comes with the `systemd` package, which scripts/setup.sh installs: a
    /// machine without it is not set up for the tests, so they fail rather than skip.
    func requireSystemdAnalyze() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            throw MissingPrerequisite("/usr/bin/systemd-analyze not found: install the systemd package (scripts/setup.sh does)")
        }
    }

    var unitPath: String { Binaries.repoRoot.appendingPathComponent("systemd/omnid.service").path }

    func testUnitExposureIsAtMostTwo() throws {
        try requireSystemdAnalyze()
        let (_, out) = try run("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", unitPath])
        guard let line = out.split(separator: "\n").first(where: { $0.contains("Overall exposure level") }),
              let value = line.split(separator: ":").last?.split(separator: " ").first.flatMap({ Double($0) })
        else { return XCTFail("no exposure figure in:\n\(out)") }
        print("systemd-analyze security exposure: \(value)")
        XCTAssertLessThanOrEqual(value, 2.0, out)
    }

    func testUnitVerifiesClean() throws {
        try requireSystemdAnalyze()
        // verify checks that ExecStart exists: point it at the built binary in a scratch copy.
        let omnid = try Binaries.path("omnid")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let unit = try String(contentsOfFile: unitPath, encoding: .utf8).replacingOccurrences(of: "/usr/bin/omnid", with: omnid)
        let copy = dir.appendingPathComponent("omnid.service")
        try unit.write(to: copy, atomically: true, encoding: .utf8)
        let (status, out) = try run("/usr/bin/systemd-analyze", ["verify", copy.path])
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "", "verify printed warnings:\n\(out)")
    }

    func testUnitHasTheRequiredSettings() throws {
        let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
        for line in ["Type=notify", "Restart=always", "RestartPreventExitStatus=78 243", "WatchdogSec=",
                     "After=network-online.target sound.target", "Wants=network-online.target sound.target",
                     "User=omnid", "SupplementaryGroups=audio gpio video", "LimitRTPRIO=",
                     "LoadCredential=dashscope-api-key:", "ExecReload=/bin/kill -HUP $MAINPID",
                     "LimitCORE=0", "ReadWritePaths=/run/omnid"] {
            XCTAssertTrue(unit.contains(line), "missing \(line)")
        }
    }

    func testDebInstallsFilesModesAndUnit() throws {
        let omnid = try Binaries.path("omnid")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let deb = dir.appendingPathComponent("omnid.deb").path
        var env = ProcessInfo.processInfo.environment
        env["OMNID_BIN"] = omnid
        env["OUT"] = deb
        // lintian runs in `make deb` and the VM test; here only what the package holds.
        env["LINTIAN"] = "0"
        let (status, out) = try run("/bin/bash", [Binaries.repoRoot.appendingPathComponent("scripts/deb.sh").path], env: env)
        XCTAssertEqual(status, 0, out)

        let root = dir.appendingPathComponent("root").path
        XCTAssertEqual(try run("/usr/bin/dpkg-deb", ["-x", deb, root]).0, 0)
        let (_, contents) = try run("/usr/bin/dpkg-deb", ["-c", deb])
        func mode(_ path: String) -> String? {
            contents.split(separator: "\n").first { $0.hasSuffix(" ." + path) }.map { String($0.prefix(10)) }
        }
        func owner(_ path: String) -> String? {
            contents.split(separator: "\n").first { $0.hasSuffix(" ." + path) }
                .map { String($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
        }
        XCTAssertEqual(mode("/usr/bin/omnid"), "-rwxr-xr-x")
        XCTAssertEqual(mode("/lib/systemd/system/omnid.service"), "-rw-r--r--")
        XCTAssertEqual(mode("/usr/lib/sysusers.d/omnid.conf"), "-rw-r--r--")
        XCTAssertEqual(mode("/usr/lib/tmpfiles.d/omnid.conf"), "-rw-r--r--")
        XCTAssertEqual(mode("/lib/udev/rules.d/60-omnid.rules"), "-rw-r--r--")
        // Shipped as Debian policy wants; postinst makes it 0640 root:omnid with dpkg-statoverride
        // (the VM test checks the installed result).
        XCTAssertEqual(mode("/etc/omni.conf"), "-rw-r--r--")
        XCTAssertEqual(owner("/etc/omni.conf"), "root/root", "postinst gives it to group omnid")
        for board in ["rpi", "respeaker-2mic", "aiy-voice", "usb-generic", "virtual", "virtual-vm"] {
            XCTAssertNotNil(mode("/usr/share/omnid/boards/\(board).toml"), "board \(board) missing")
        }
        let (_, info) = try run("/usr/bin/dpkg-deb", ["-I", deb])
        XCTAssertTrue(info.contains("Package: omnid"), info)
        let (_, conffiles) = try run("/usr/bin/dpkg-deb", ["--ctrl-tarfile", deb])
        _ = conffiles
        let ctrl = dir.appendingPathComponent("ctrl").path
        XCTAssertEqual(try run("/usr/bin/dpkg-deb", ["-e", deb, ctrl]).0, 0)
        XCTAssertEqual(try String(contentsOfFile: ctrl + "/conffiles", encoding: .utf8), "/etc/omni.conf\n")
        let postinst = try String(contentsOfFile: ctrl + "/postinst", encoding: .utf8)
        XCTAssertTrue(postinst.contains("systemd-sysusers"))
        XCTAssertTrue(postinst.contains("dpkg-statoverride --update --add"))
        XCTAssertTrue(postinst.contains("deb-systemd-helper enable 'omnid.service'"), postinst)
        XCTAssertTrue(postinst.contains("systemd-tmpfiles"), postinst)
        // The installed unit is the repository's, and the installed config is valid as shipped.
        XCTAssertEqual(try String(contentsOfFile: root + "/lib/systemd/system/omnid.service", encoding: .utf8),
                       try String(contentsOfFile: unitPath, encoding: .utf8))
        var cenv = ProcessInfo.processInfo.environment
        cenv["OMNID_BOARD_DIR"] = root + "/usr/share/omnid/boards"
        // The API key is the one thing the owner adds after installing (check-config, like run,
        // refuses a config without one).
        cenv["DASHSCOPE_API_KEY"] = "test-key-not-real"
        let (cstatus, cout) = try run(omnid, ["check-config", "--config", root + "/etc/omni.conf"], env: cenv)
        XCTAssertEqual(cstatus, 0, cout)
    }
}
