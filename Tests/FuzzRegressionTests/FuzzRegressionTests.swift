// Every committed fuzz input runs through its target in-process on each `swift test`: the seed
// corpus (fuzz/corpus/<target>/) must stay clean, and every reproducer the fuzzer ever found
// (fuzz/crashes/<target>/) must neither crash nor break a property again. Files only, all
// inside the repository.

import Foundation
import OmniFuzz
import XCTest

final class FuzzRegressionTests: XCTestCase {
    /// `<repo>/fuzz`, found from this file: `<repo>/Tests/FuzzRegressionTests/…`.
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz", isDirectory: true)

    /// The regular files in fuzz/<kind>/<target>/ (none when the folder does not exist).
    func inputs(_ kind: String, _ target: FuzzTarget) throws -> [URL] {
        let dir = Self.fuzzDirectory.appendingPathComponent("\(kind)/\(target.rawValue)", isDirectory: true)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func replay(_ kind: String) throws -> Int {
        var count = 0
        for target in FuzzTarget.allCases {
            for file in try inputs(kind, target) {
                let bytes = try [UInt8](Data(contentsOf: file))
                do { try target.run(bytes) } catch {
                    XCTFail("\(kind)/\(target.rawValue)/\(file.lastPathComponent): \(error)")
                }
                count += 1
            }
        }
        return count
    }

    func testSeedCorpusIsCleanAndCoversEveryTarget() throws {
        for target in FuzzTarget.allCases {
            XCTAssertFalse(try inputs("corpus", target).isEmpty, "fuzz/corpus/\(target.rawValue) has no seeds")
        }
        XCTAssertGreaterThan(try replay("corpus"), 0)
    }

    func testCrashReproducersStayFixed() throws {
        _ = try replay("crashes")
    }
}
