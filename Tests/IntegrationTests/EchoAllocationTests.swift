import CSystemShim
import Foundation
import OmniCore
import OmniLinux
import XCTest

/// "EchoPipeline.process allocates nothing per frame" (nor does RoomSimulator): counted with
/// AudioRTAllocationTests' malloc interposer in a child run of this test binary, over 15 s of
/// audio after the first alignment — frames, delay measurements, drift steering and the
/// speexdsp canceller included.
final class EchoAllocationTests: XCTestCase {
    func testEchoPipelineAllocatesNothingPerFrame() throws {
        try Sanitizers.skipUnderAddressSanitizer("the probe's LD_PRELOAD malloc cannot sit in front of ASan's")
        guard let cc = AudioRTAllocationTests.compiler() else { throw MissingPrerequisite("no C compiler to build the malloc interposer") }
        let dir = try AudioTestSupport.scratchDirectory("echo-alloc")
        defer { AudioTestSupport.remove(dir) }
        try AudioRTAllocationTests.interposer.write(toFile: "\(dir)/interpose.c", atomically: true, encoding: .utf8)
        let build = Process()
        build.executableURL = URL(fileURLWithPath: cc)
        build.arguments = ["-shared", "-fPIC", "-O2", "-o", "\(dir)/interpose.so", "\(dir)/interpose.c", "-ldl"]
        try build.run()
        build.waitUntilExit()
        XCTAssertEqual(build.terminationStatus, 0, "compiling the interposer")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["IntegrationTests.EchoAllocationProbe/testProbe"]
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = "\(dir)/interpose.so"
        env["OMNI_ECHO_ALLOC_PROBE"] = "1"
        child.environment = env
        let out = Pipe()
        child.standardOutput = out
        child.standardError = out
        try child.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let report = text.split(separator: "\n").first { $0.hasPrefix("ECHO ALLOCATION PROBE:") }
        print(report ?? "no probe report")
        XCTAssertEqual(child.terminationStatus, 0, "probe failed:\n\(text.suffix(3_000))")
        XCTAssertNotNil(report, text.suffix(3_000).description)
    }
}

/// The child side: only runs under the interposer (skipped otherwise).
final class EchoAllocationProbe: XCTestCase {
    typealias Watch = @convention(c) (Int32) -> Void
    typealias Count = @convention(c) () -> Int

    func testProbe() throws {
        guard ProcessInfo.processInfo.environment["OMNI_ECHO_ALLOC_PROBE"] != nil,
              let watchSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omni_alloc_watch"),
              let countSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omni_alloc_count")
        else { throw XCTSkip("not a test by itself: the child process that EchoAllocationTests runs under its malloc interposer") }
        let watch = unsafeBitCast(watchSym, to: Watch.self)
        let count = unsafeBitCast(countSym, to: Count.self)
        // Positive control: the counter sees this thread's allocations.
        watch(omni_gettid())
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 8)
        scratch.deallocate()
        XCTAssertGreaterThan(count(), 0, "the interposer counts allocations")
        watch(0)
        let rate = 16_000
        // 100 ppm drift, so the fractional reading, the fit and the steering all run.
        let room = RoomSimulator(spec: try RoomSpec.parse("delay_ms=60,gain_db=-6,rt60_ms=100,noise_db=-70,drift_ppm=100"), sampleRate: rate)
        var settings = SpeexEchoCanceller.Settings()
        settings.noiseSuppressionDB = -15
        let pipeline = EchoPipeline(canceller: try SpeexEchoCanceller(settings: settings))
        var rng = SeededNoise(seed: 5)
        let far = (0..<(40 * rate)).map { i in PCM.clampToInt16(rng.normal() * (i / 4000 % 3 == 0 ? 0 : 5000)) }
        let n = pipeline.frameSize
        var mic = [Int16](repeating: 0, count: n), out = [Int16](repeating: 0, count: n)
        var played = 0
        let step = 1 / (1 + 100e-6)
        var frames = 0
        func frame() {
            let due = Int((Double((frames + 1) * n) * step).rounded())
            far.withUnsafeBufferPointer { f in
                let chunk = UnsafeBufferPointer(rebasing: f[played..<due])
                room.play(chunk)
                pipeline.pushReference(chunk)
            }
            played = due
            mic.withUnsafeMutableBufferPointer { m in
                m.update(repeating: 0)
                room.capture(into: m)
                out.withUnsafeMutableBufferPointer { pipeline.process(microphone: m.baseAddress!, output: $0.baseAddress!) }
            }
            frames += 1
        }
        // Warm-up: the first alignment (and its canceller reset), the first drift fit.
        for _ in 0..<(5 * rate / n) { frame() }
        XCTAssertNotNil(pipeline.status.delayMs)
        watch(omni_gettid())
        for _ in 0..<(30 * rate / n) { frame() }
        let allocations = count()
        watch(0)
        let status = pipeline.status
        print("ECHO ALLOCATION PROBE: \(allocations) allocations over \(30 * rate / n) frames (30 s); measurements \(status.measurements), drift \(status.driftPPM) ppm")
        XCTAssertEqual(allocations, 0)
        XCTAssertGreaterThan(status.measurements, 20, "the probe covered the delay measurements")
    }
}
