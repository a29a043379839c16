import Dispatch
import Synchronization
import XCTest
@testable import OmniCore

#if canImport(Glibc)
import Glibc
#endif

final class AudioRingTests: XCTestCase {
    func testCapacityIsRoundedUpToAPowerOfTwo() {
        XCTAssertEqual(SPSCRing(minimumCapacity: 1).capacity, 2)
        XCTAssertEqual(SPSCRing(minimumCapacity: 1000).capacity, 1024)
        XCTAssertEqual(SPSCRing(minimumCapacity: 1024).capacity, 1024)
        XCTAssertEqual(SPSCRing(minimumCapacity: 96_000).capacity, 131_072)
    }

    func testWriteReadAcrossTheWrapPoint() {
        let ring = SPSCRing(minimumCapacity: 8)
        let v = ring.view
        var out = [Int16](repeating: 0, count: 8)
        var next: Int16 = 0
        var expected: Int16 = 0
        // Chunks of 5 through a ring of 8: every write and read eventually straddles the end.
        for _ in 0..<50 {
            let chunk = (0..<5).map { i in next &+ Int16(i) }
            let written = chunk.withUnsafeBufferPointer { v.write($0.baseAddress!, count: 5) }
            XCTAssertEqual(written, 5)
            next &+= 5
            XCTAssertEqual(v.availableToRead(), 5)
            XCTAssertEqual(v.availableToWrite(), 3)
            let read = out.withUnsafeMutableBufferPointer { v.read(into: $0.baseAddress!, count: 8) }
            XCTAssertEqual(read, 5)
            for i in 0..<5 {
                XCTAssertEqual(out[i], expected)
                expected &+= 1
            }
        }
        XCTAssertEqual(v.writePosition, 250)
        XCTAssertEqual(v.readPosition, 250)
    }

    func testAFullRingRefusesTheExcessInsteadOfOverwriting() {
        let ring = SPSCRing(minimumCapacity: 4)
        let v = ring.view
        let data: [Int16] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(data.withUnsafeBufferPointer { v.write($0.baseAddress!, count: 6) }, 4)
        XCTAssertEqual(data.withUnsafeBufferPointer { v.write($0.baseAddress!, count: 1) }, 0)
        var out = [Int16](repeating: 0, count: 6)
        XCTAssertEqual(out.withUnsafeMutableBufferPointer { v.read(into: $0.baseAddress!, count: 6) }, 4)
        XCTAssertEqual(Array(out[0..<4]), [1, 2, 3, 4])
        XCTAssertEqual(out.withUnsafeMutableBufferPointer { v.read(into: $0.baseAddress!, count: 6) }, 0)
    }

    func testSkipAndDiscardAreBoundedByWhatWasWritten() {
        let ring = SPSCRing(minimumCapacity: 16)
        let v = ring.view
        let data = (1...10).map { Int16($0) }
        _ = data.withUnsafeBufferPointer { v.write($0.baseAddress!, count: 10) }
        XCTAssertEqual(v.skip(to: 4), 4)
        XCTAssertEqual(v.skip(to: 2), 0, "never backwards")
        var out = [Int16](repeating: 0, count: 2)
        _ = out.withUnsafeMutableBufferPointer { v.read(into: $0.baseAddress!, count: 2) }
        XCTAssertEqual(out, [5, 6])
        XCTAssertEqual(v.skip(to: 1_000), 4, "never past the write position")
        XCTAssertEqual(v.availableToRead(), 0)
        _ = data.withUnsafeBufferPointer { v.write($0.baseAddress!, count: 3) }
        XCTAssertEqual(v.discardAll(), 3)
        XCTAssertEqual(v.readPosition, 13)
    }

    func testWriteSilence() {
        let ring = SPSCRing(minimumCapacity: 4)
        let v = ring.view
        let ones: [Int16] = [7, 7, 7]
        _ = ones.withUnsafeBufferPointer { v.write($0.baseAddress!, count: 3) }
        var out = [Int16](repeating: 9, count: 3)
        _ = out.withUnsafeMutableBufferPointer { v.read(into: $0.baseAddress!, count: 3) }
        XCTAssertEqual(v.writeSilence(count: 10), 4)
        out = [Int16](repeating: 9, count: 4)
        XCTAssertEqual(out.withUnsafeMutableBufferPointer { v.read(into: $0.baseAddress!, count: 4) }, 4)
        XCTAssertEqual(out, [0, 0, 0, 0])
    }
}

/// Two threads hammer one ring with a known sequence; the consumer checks every sample.
/// Run under ThreadSanitizer too:
///   swift test --sanitize=thread --scratch-path .build-tsan --filter Ring
final class AudioRingStressTests: XCTestCase {
    /// Producer writes 0, 1, 2, … (mod 2^16) in odd-sized chunks; consumer reads odd-sized
    /// chunks and checks the sequence. Returns the number of samples verified.
    static func stress(samples total: Int, capacity: Int) -> (verified: Int, errors: Int) {
        let ring = SPSCRing(minimumCapacity: capacity)
        let view = ring.view
        let group = DispatchGroup()
        let result = ResultBox()
        DispatchQueue.global().async(group: group) {
            var buffer = [Int16](repeating: 0, count: 97)
            var next = 0
            var spins = 0
            while next < total {
                let want = min(1 + (next * 31 + 7) % 97, total - next)
                for i in 0..<want { buffer[i] = Int16(truncatingIfNeeded: next + i) }
                var offset = 0
                while offset < want {
                    let n = buffer.withUnsafeBufferPointer { view.write($0.baseAddress! + offset, count: want - offset) }
                    offset += n
                    if n == 0 {
                        spins += 1
                        if spins & 63 == 0 { sched_yield() }
                    }
                }
                next += want
            }
        }
        DispatchQueue.global().async(group: group) {
            var buffer = [Int16](repeating: 0, count: 101)
            var expected = 0
            var errors = 0
            var spins = 0
            while expected < total {
                let want = 1 + (expected * 17 + 3) % 101
                let n = buffer.withUnsafeMutableBufferPointer { view.read(into: $0.baseAddress!, count: want) }
                if n == 0 {
                    spins += 1
                    if spins & 63 == 0 { sched_yield() }
                    continue
                }
                for i in 0..<n where buffer[i] != Int16(truncatingIfNeeded: expected + i) { errors += 1 }
                expected += n
            }
            result.set(expected, errors)
        }
        group.wait()
        return result.get()
    }

    func testProducerConsumerStress() {
        let (verified, errors) = Self.stress(samples: 2_000_000, capacity: 256)
        XCTAssertEqual(verified, 2_000_000)
        XCTAssertEqual(errors, 0)
    }

    /// The same stress, asserting that this run is instrumented by ThreadSanitizer (which then
    /// fails the run on any data race in the ring). Skipped in normal runs.
    func testRingStressUnderThreadSanitizer() throws {
        guard dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil else {
            throw XCTSkip("not built with -sanitize=thread (swift test --sanitize=thread --scratch-path .build-tsan --filter Ring)")
        }
        let (verified, errors) = Self.stress(samples: 300_000, capacity: 64)
        XCTAssertEqual(verified, 300_000)
        XCTAssertEqual(errors, 0)
    }
}

private final class ResultBox: Sendable {
    private let value = Mutex((0, 0))
    func set(_ a: Int, _ b: Int) { value.withLock { $0 = (a, b) } }
    func get() -> (verified: Int, errors: Int) { value.withLock { $0 } }
}
