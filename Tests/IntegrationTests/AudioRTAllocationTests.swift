import CSystemShim
import Foundation
import OmniCore
import OmniLinux
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// "The audio loop allocates nothing": counted, not assumed.
///
/// glibc no longer has malloc hooks, so the count comes from a tiny malloc interposer compiled
/// at test time (C source below) and LD_PRELOADed into a child run of this same test binary.
/// The interposer counts malloc/calloc/realloc/memalign-family calls made by one thread id.
/// The child (`AudioRTAllocationProbe`) runs the real engine on the ALSA file/null test devices,
/// exercises every branch of the loop — capture, playout, underrun, drain, flush (drop +
/// prepare), earcons, volume, xrun recovery — and counts the audio thread's allocations over
/// thousands of periods. The parent fails unless the count is zero.
final class AudioRTAllocationTests: XCTestCase {
    static let interposer = #"""
        /* Test-only malloc interposer for AudioRTAllocationTests (LD_PRELOAD). */
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdatomic.h>
        #include <stddef.h>
        #include <string.h>
        #include <sys/syscall.h>
        #include <unistd.h>

        static void *(*real_malloc)(size_t);
        static void *(*real_calloc)(size_t, size_t);
        static void *(*real_realloc)(void *, size_t);
        static void (*real_free)(void *);
        static int (*real_posix_memalign)(void **, size_t, size_t);
        static void *(*real_aligned_alloc)(size_t, size_t);
        static void *(*real_memalign)(size_t, size_t);

        static _Atomic int watched_tid;
        static _Atomic long counted;
        static __thread __attribute__((tls_model("initial-exec"))) int my_tid;
        static _Atomic int resolving;
        static char bootstrap[1 << 16];
        static size_t bootstrap_used;

        static void note(void) {
            int w = atomic_load_explicit(&watched_tid, memory_order_relaxed);
            if (!w) return;
            if (!my_tid) my_tid = (int)syscall(SYS_gettid);
            if (w == my_tid) atomic_fetch_add_explicit(&counted, 1, memory_order_relaxed);
        }

        static void *bootstrap_alloc(size_t n) {
            size_t at = (bootstrap_used + 15) & ~(size_t)15;
            if (at + n > sizeof(bootstrap)) return NULL;
            bootstrap_used = at + n;
            return bootstrap + at;
        }

        static void resolve(void) {
            if (real_malloc) return;
            atomic_store(&resolving, 1);
            real_calloc = dlsym(RTLD_NEXT, "calloc");
            real_realloc = dlsym(RTLD_NEXT, "realloc");
            real_free = dlsym(RTLD_NEXT, "free");
            real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
            real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
            real_memalign = dlsym(RTLD_NEXT, "memalign");
            real_malloc = dlsym(RTLD_NEXT, "malloc");
            atomic_store(&resolving, 0);
        }

        void *malloc(size_t n) {
            if (!real_malloc) { if (atomic_load(&resolving)) return bootstrap_alloc(n); resolve(); }
            note();
            return real_malloc(n);
        }
        void *calloc(size_t a, size_t b) {
            if (!real_calloc) { if (atomic_load(&resolving)) return bootstrap_alloc(a * b); resolve(); }
            note();
            return real_calloc(a, b);
        }
        void *realloc(void *p, size_t n) {
            if (!real_realloc) resolve();
            note();
            return real_realloc(p, n);
        }
        void free(void *p) {
            if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof(bootstrap)) return;
            if (!real_free) resolve();
            real_free(p);
        }
        int posix_memalign(void **out, size_t align, size_t n) {
            if (!real_posix_memalign) resolve();
            note();
            return real_posix_memalign(out, align, n);
        }
        void *aligned_alloc(size_t align, size_t n) {
            if (!real_aligned_alloc) resolve();
            note();
            return real_aligned_alloc(align, n);
        }
        void *memalign(size_t align, size_t n) {
            if (!real_memalign) resolve();
            note();
            return real_memalign(align, n);
        }

        /* Start counting the allocations of thread `tid` (0: stop). */
        void omni_alloc_watch(int tid) {
            atomic_store(&watched_tid, 0);
            atomic_store(&counted, 0);
            atomic_store(&watched_tid, tid);
        }
        long omni_alloc_count(void) { return atomic_load(&counted); }
        """#

    static func compiler() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/opt/swift/usr/bin", "/usr/bin"] {
            for name in ["cc", "clang", "gcc"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }

    func testAudioLoopAllocatesNothingOverThousandsOfPeriods() throws {
        try Self.runProbe("IntegrationTests.AudioRTAllocationProbe/testProbe")
    }

    /// Runs the probe test `name` of this binary in a child under the interposer; fails unless
    /// it passed and reported.
    static func runProbe(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try Sanitizers.skipUnderAddressSanitizer("the probe's LD_PRELOAD malloc cannot sit in front of ASan's")
        // Building this package needs a C compiler (its C shims), so a missing one is a broken
        // setup, not an optional extra.
        guard let cc = Self.compiler() else { throw MissingPrerequisite("no C compiler (cc, clang or gcc on PATH) to build the malloc interposer") }
        let dir = try AudioTestSupport.scratchDirectory("alloc")
        defer { AudioTestSupport.remove(dir) }
        try Self.interposer.write(toFile: "\(dir)/interpose.c", atomically: true, encoding: .utf8)
        let build = Process()
        build.executableURL = URL(fileURLWithPath: cc)
        build.arguments = ["-shared", "-fPIC", "-O2", "-o", "\(dir)/interpose.so", "\(dir)/interpose.c", "-ldl"]
        try build.run()
        build.waitUntilExit()
        XCTAssertEqual(build.terminationStatus, 0, "compiling the interposer", file: file, line: line)

        let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: me)
        child.arguments = [name]
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = "\(dir)/interpose.so"
        env["OMNI_AUDIO_ALLOC_PROBE"] = dir
        child.environment = env
        let out = Pipe()
        child.standardOutput = out
        child.standardError = out
        try child.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let report = text.split(separator: "\n").first { $0.hasPrefix("ALLOCATION PROBE:") }
        print(report ?? "no probe report")
        XCTAssertEqual(child.terminationStatus, 0, "probe failed:\n\(text.suffix(3_000))", file: file, line: line)
        XCTAssertNotNil(report, text.suffix(3_000).description, file: file, line: line)
    }
}

/// The child side of the probe: only runs under the interposer (skipped otherwise).
final class AudioRTAllocationProbe: XCTestCase {
    typealias Watch = @convention(c) (Int32) -> Void
    typealias Count = @convention(c) () -> Int

    func testProbe() throws {
        guard let dir = ProcessInfo.processInfo.environment["OMNI_AUDIO_ALLOC_PROBE"],
              let watchSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omni_alloc_watch"),
              let countSym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omni_alloc_count")
        else { throw XCTSkip("not a test by itself: the child process that AudioRTAllocationTests runs under its malloc interposer") }
        let watch = unsafeBitCast(watchSym, to: Watch.self)
        let count = unsafeBitCast(countSym, to: Count.self)

        // Positive control: the counter sees this thread's allocations.
        watch(omni_gettid())
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 8)
        scratch.deallocate()
        let control = count()
        watch(0)
        XCTAssertGreaterThan(control, 0, "the interposer counts allocations")

        // 48 kHz stereo in and out (the common USB case), so every conversion path runs.
        let input = (0..<(48_000 * 4)).map { n in Int16(truncatingIfNeeded: (n * 37) % 20_000 - 10_000) }
        try AudioTestSupport.writeRaw(input, to: "\(dir)/capture-in.raw")
        let conf = try AudioTestSupport.writeConfig(dir: dir, captureChannels: 2, playbackChannels: 2)
        var config = AudioTestSupport.audioConfig(captureRate: 48_000, playbackRate: 48_000, periodMs: 10)
        config.earcons = true
        config.volume = 0.8
        let engine = AudioEngine(config: config, options: AudioTestSupport.options(configFile: conf, speed: 25))
        try engine.start(waitForDevice: false)
        defer { engine.stop() }
        XCTAssertTrue(AudioTestSupport.wait { engine.status.audioThreadID != nil })
        let tid = Int32(engine.status.audioThreadID ?? 0)

        let tone = AudioTestSupport.tone(ms: 300)
        var round = 0
        /// One pass over every branch of the loop, driven from this (controller) thread.
        func exercise() {
            round += 1
            engine.playEarcon(EarconKind(rawValue: round % EarconKind.count)!)
            engine.setVolume(round % 2 == 0 ? 1.0 : 0.7)
            let played = engine.counters.answerFramesPlayed
            engine.enqueuePlayback(samples24k: tone)  // plays, then underruns (no end yet)
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.answerFramesPlayed >= played + 14_000 })
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.underruns >= round })
            let drained = engine.counters.answerFramesPlayed
            engine.enqueuePlayback(samples24k: tone)
            engine.endOfAnswer()  // drains
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.answerFramesPlayed >= drained + 14_000 })
            let flushed = engine.counters.answerFramesPlayed
            engine.enqueuePlayback(samples24k: tone)
            XCTAssertTrue(AudioTestSupport.wait { engine.counters.answerFramesPlayed > flushed })  // playing
            engine.flush()  // drop + prepare
            engine._injectDeviceError(round % 2 == 0 ? .capture : .playback, errno: EPIPE)  // recover
            _ = engine.readCaptured()
        }

        // Phase 1: from as soon as the thread is known, through a first pass of every branch.
        watch(tid)
        exercise()
        let warmup = count()
        let warmupPeriods = engine.counters.loopIterations

        // Phase 2: steady state, thousands of periods, every branch many times.
        watch(tid)
        let start = engine.counters
        while engine.counters.loopIterations - start.loopIterations < 5_000 { exercise() }
        let allocations = count()
        watch(0)
        let end = engine.counters
        let periods = end.loopIterations - start.loopIterations
        print("ALLOCATION PROBE: \(allocations) allocations on the audio thread in \(periods) periods "
              + "(\(end.flushes - start.flushes) flushes, \(end.underruns - start.underruns) underruns, "
              + "\(end.earconsPlayed - start.earconsPlayed) earcons, \(end.xruns - start.xruns) xruns recovered, "
              + "\(end.answerFramesPlayed - start.answerFramesPlayed) answer frames); "
              + "warm-up: \(warmup) in the first \(warmupPeriods) periods; control: \(control) counted on the probe thread")
        XCTAssertGreaterThanOrEqual(periods, 5_000)
        XCTAssertGreaterThan(end.flushes - start.flushes, 10)
        XCTAssertGreaterThan(end.xruns - start.xruns, 10)
        XCTAssertEqual(allocations, 0, "the audio loop allocated")
        XCTAssertEqual(end.deviceLosses, 0)
    }
}
