import Foundation
import XCTest

/// A newcomer runs the freshly built `omnid` from the checkout with `[board] name = "virtual"`:
/// the board is found (the installed boards, else the checkout's `board/`), and a board that
/// cannot be found is reported with how to point omnid at a folder of boards.
final class BoardDirectoryTests: XCTestCase {
    /// Runs omnid to completion; output is read to EOF, so nothing depends on timing.
    func omnid(_ args: [String], config: String) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-board-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("omni.conf")
        try config.write(to: conf, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["OMNID_BOARD_DIR"] = nil
        env["DASHSCOPE_API_KEY"] = "test-key-not-real"
        return try Binaries.runToCompletion("omnid", args + ["--config", conf.path], environment: env)
    }

    func testVirtualBoardIsFoundWithoutOMNID_BOARD_DIR() throws {
        let (status, out) = try omnid(["check-config"], config: "[board]\nname = \"virtual\"\n")
        XCTAssertEqual(status, 0, out)
        let installed = FileManager.default.fileExists(atPath: "/usr/share/omnid/boards/virtual.toml")
        let expected = installed ? "/usr/share/omnid/boards/virtual.toml"
                                 : Binaries.repoRoot.appendingPathComponent("board/virtual.toml").standardizedFileURL.path
        XCTAssertTrue(out.contains(expected), "board file \(expected) not named in:\n\(out)")
    }

    func testUnknownBoardSaysWhereBoardsAreAndHowToChangeIt() throws {
        let (status, out) = try omnid(["check-config"], config: "[board]\nname = \"no-such-board\"\n")
        XCTAssertEqual(status, 78, out)
        XCTAssertTrue(out.contains("omni.conf:2: board.name: board file "), out)
        XCTAssertTrue(out.contains("OMNID_BOARD_DIR"), out)
        XCTAssertTrue(out.contains("[board] file"), out)
    }
}
