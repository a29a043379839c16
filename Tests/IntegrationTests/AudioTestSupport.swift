import Foundation
import Logging
import OmniCore
import OmniLinux
import Synchronization
import XCTest

// Shared pieces of the audio integration tests: a scratch directory, a test ALSA configuration
// built on alsa-lib's `file` plugin over `null` (raw `infile` for capture, raw output file for
// playback), signal generators and comparisons.
//
// The `null` device has no clock, so the engine runs with Options.pacing = .clock(speed:) and
// the tests count frames and audio-loop periods, never seconds: whatever the load on the
// machine, "after N more periods" means the same thing to the audio thread.

enum AudioTestSupport {
    static let capturePCM = "omni_test_capture"
    static let playbackPCM = "omni_test_playback"

    /// A fresh directory under $TMPDIR, removed by the returned cleanup.
    static func scratchDirectory(_ name: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/omnid-audio-\(name)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw MissingPrerequisite("cannot create a scratch directory under \(base): \(String(cString: strerror(errno)))")
        }
        return String(cString: p)
    }

    static func remove(_ dir: String) {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A `multi` over `null` fixes the channel count the way a real device does (mono: plain null).
    static func nullSlave(_ name: String, channels: Int) -> String {
        guard channels > 1 else { return "pcm.\(name) { type null }\n" }
        var s = "pcm.\(name) {\n    type multi\n    slaves.a { pcm \"null\"; channels \(channels) }\n"
        for c in 0..<channels { s += "    bindings.\(c) { slave a; channel \(c) }\n" }
        return s + "}\n"
    }

    /// The test ALSA configuration. `includeCapture: false` leaves the capture PCM undefined
    /// (a device that is not there).
    static func alsaConfig(dir: String, captureChannels: Int, playbackChannels: Int, includeCapture: Bool = true) -> String {
        var s = "# omnid audio integration tests: alsa-lib file plugin over null (see AudioTestSupport.swift)\n"
        if includeCapture {
            s += nullSlave("omni_test_null_capture", channels: captureChannels)
            s += """
                pcm.\(capturePCM) {
                    type file
                    slave.pcm "omni_test_null_capture"
                    file "\(dir)/capture-copy.raw"
                    infile "\(dir)/capture-in.raw"
                    format "raw"
                }

                """
        }
        s += nullSlave("omni_test_null_playback", channels: playbackChannels)
        s += """
            pcm.\(playbackPCM) {
                type file
                slave.pcm "omni_test_null_playback"
                file "\(dir)/playback-out.raw"
                format "raw"
            }

            """
        return s
    }

    @discardableResult
    static func writeConfig(dir: String, captureChannels: Int, playbackChannels: Int, includeCapture: Bool = true) throws -> String {
        let path = "\(dir)/asound.conf"
        try alsaConfig(dir: dir, captureChannels: captureChannels, playbackChannels: playbackChannels,
                       includeCapture: includeCapture).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func writeRaw(_ samples: [Int16], to path: String) throws {
        let data = samples.withUnsafeBytes { Data($0) }
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func readRaw(_ path: String) throws -> [Int16] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in Array(raw.bindMemory(to: Int16.self)) }
    }

    /// One channel of interleaved samples.
    static func channel(_ interleaved: [Int16], _ c: Int, of channels: Int) -> [Int16] {
        stride(from: c, to: interleaved.count - (channels - 1 - c), by: channels).map { interleaved[$0] }
    }

    /// The audio config the tests start from: test PCMs, no real-time priority (the shared CI
    /// box must not get a SCHED_FIFO spinner), earcons off.
    static func audioConfig(captureRate: Int = 44_100, playbackRate: Int = 48_000, periodMs: Int = 10) -> OmniConfig.Audio {
        var a = OmniConfig().audio  // OmniConfig.Audio has no public init
        a.capture = capturePCM
        a.playback = playbackPCM
        a.captureRate = captureRate
        a.playbackRate = playbackRate
        a.periodMs = periodMs
        a.bufferPeriods = 4
        a.rtPriority = 0
        a.earcons = false
        return a
    }

    static func options(configFile: String?, speed: Double = 8) -> AudioEngine.Options {
        var o = AudioEngine.Options()
        o.alsaConfigFile = configFile
        o.pacing = .clock(speed: speed)
        o.lockMemory = false
        o.reopenInterval = .milliseconds(100)
        return o
    }

    /// Polls `condition` every 2 ms until true (the timeout is a hang guard).
    @discardableResult
    static func wait(timeout: Double = TestGuard.seconds, _ condition: () -> Bool) -> Bool {
        eventually(timeout: timeout, condition)
    }

    /// Waits until the audio loop has run `periods` more periods: "then nothing more happened"
    /// is asserted after this, counted on the audio thread's own clock.
    @discardableResult
    static func waitForPeriods(_ engine: AudioEngine, _ periods: Int) -> Bool {
        let start = engine.counters.loopIterations
        return wait { engine.counters.loopIterations >= start + periods }
    }

    /// Returns once every change the audio thread has made so far has been reported as an event
    /// (the monitor thread turns counters into events every few milliseconds): lets the loop run
    /// `periods` more periods (a drain completes once the device buffer has played), then makes
    /// two playback xruns, the second only after the first was reported. One monitor pass reports
    /// xruns, underruns and then drains, so the pass that reports the first xrun also reports
    /// anything older, and it is over once the second xrun comes (from a later pass). Use at the
    /// end of a test: the xruns restart the playback device (with silence).
    @discardableResult
    static func settleEvents(_ engine: AudioEngine, _ events: AudioEventLog, periods: Int = 16) -> Bool {
        guard waitForPeriods(engine, periods) else { return false }
        for _ in 0..<2 {
            let xruns = engine.counters.playbackXruns
            engine._injectDeviceError(.playback, errno: EPIPE)
            let reported = wait { events.all.contains(.xrun(direction: .playback, total: xruns + 1)) }
            guard reported else { return false }
        }
        return true
    }

    /// A pre-roll longer than any answer in these tests: playout starts at endOfAnswer(), with
    /// the whole answer queued, so how promptly the test thread feeds it cannot starve it.
    static func holdPlaybackUntilTheEnd(_ config: inout OmniConfig.Audio) {
        config.prerollMs = 10_000
    }

    /// SNR in dB of `signal` against `reference` (same length).
    static func snr(_ signal: ArraySlice<Int16>, _ reference: ArraySlice<Double>) -> Double {
        precondition(signal.count == reference.count)
        var sig = 0.0, err = 0.0
        for (s, r) in zip(signal, reference) {
            sig += r * r
            err += (Double(s) - r) * (Double(s) - r)
        }
        return err == 0 ? .infinity : 10 * log10(sig / err)
    }

    /// omni-sim's `tone` answer, sample by sample (SimulatorCore/ToneGenerator.swift).
    static func tone(hz: Double = 440, amplitude: Double = 8000, ms: Int = 1000, rate: Int = 24_000) -> [Int16] {
        (0..<(ms * rate / 1000)).map { n in
            PCM.clampToInt16((amplitude * sin(2.0 * Double.pi * hz * Double(n) / Double(rate))).rounded(.toNearestOrAwayFromZero))
        }
    }
}

/// Collects engine events (called on the engine's monitor thread).
final class AudioEventLog: Sendable {
    private let events = Mutex<[AudioEvent]>([])

    func add(_ e: AudioEvent) { events.withLock { $0.append(e) } }
    var all: [AudioEvent] { events.withLock { $0 } }
    func count(_ match: (AudioEvent) -> Bool) -> Int { all.filter(match).count }
    var drained: Int { count { $0 == .playbackDrained } }
    var handler: @Sendable (AudioEvent) -> Void { { [self] in add($0) } }
}
