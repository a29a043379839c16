import Foundation
import OmniCore
import OmniLinux
import XCTest

/// Runner for bench/audio (skipped unless OMNI_AUDIO_BENCH=1; see bench/audio/run.sh). The
/// scenario itself is `AudioBenchmark` in OmniLinux, so the daemon binary can run it on a
/// board too. OMNI_AUDIO_BENCH_SECONDS (audio seconds, default 60) and OMNI_AUDIO_BENCH_SPEED
/// (multiple of real time, default 1).
final class AudioBenchmarkTests: XCTestCase {
    func testFullDuplexCPUPerMinute() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["OMNI_AUDIO_BENCH"] == "1" else { throw XCTSkip("benchmark: run bench/audio/run.sh (OMNI_AUDIO_BENCH=1)") }
        let seconds = Double(env["OMNI_AUDIO_BENCH_SECONDS"] ?? "") ?? 60
        let speed = Double(env["OMNI_AUDIO_BENCH_SPEED"] ?? "") ?? 1
        let dir = try AudioTestSupport.scratchDirectory("bench")
        defer { AudioTestSupport.remove(dir) }
        var options = AudioEngine.Options()
        options.alsaConfigFile = try AudioBenchmark.nullDevices(in: dir)
        options.pacing = .clock(speed: speed)
        var base = OmniConfig().audio
        base.rtPriority = 0
        let result = try AudioBenchmark.run(config: AudioBenchmark.nullDeviceConfig(base: base), options: options, seconds: seconds)
        print(result)
        XCTAssertEqual(result.xruns, 0)
        XCTAssertEqual(result.underruns, 0)
    }
}
