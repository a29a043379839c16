#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import Logging
import OmniCore
import OmniSystem
import Synchronization

// The audio engine: capture and playback devices (ALSA, or the `file:` backend), one audio
// thread moving audio between them and two SPSC rings (three with the echo reference,
// AudioEngine+Reference.swift), and a monitor thread that reports
// events, keeps the playback ring topped up and reopens lost devices.
//
//   controller ──enqueuePlayback(24 kHz)──▶ speexdsp → device rate ──▶ [playback ring] ──▶ audio thread ──▶ speaker
//   controller ◀──readCaptured(16 kHz)──── speexdsp ← device rate ◀── [capture ring]  ◀── audio thread ◀── mic
//
// Threads:
//  - audio thread ("omni-audio", SCHED_FIFO when permitted): see AudioRTLoop.swift.
//  - monitor thread ("omni-audio-mon", normal priority): sleeps in poll() on the engine's
//    eventfd, which the audio thread writes only when there is work (AudioRTLoop+Wake.swift):
//    room for answer audio that did not fit into the playback ring, captured audio the
//    consumer asked for (.captureReady), the first answer frame played (.answerStarted),
//    counter changes (xrun, underrun, drained) and device loss: it closes the devices and
//    reopens them every `reopenInterval` until they are back (its only timed wake-up).
//    `onEvent` is called on this thread only — keep it short (post to the controller). See
//    AudioEngine+Monitor.swift. With `Options.eventLoop` (omnid) there is no monitor thread:
//    that loop watches the eventfd and does the same work (AudioEngine+LoopMonitor.swift).
//  - callers: all public methods are thread-safe. Conversion runs on the calling thread, under
//    a mutex per direction that the audio thread never takes (AudioEngine+Capture.swift,
//    AudioEngine+Playback.swift).
//
// Answer lifecycle: enqueuePlayback(...)* → endOfAnswer() → .playbackDrained once the device
// has played the last sample. flush() (barge-in) discards everything queued and the device
// buffer and cancels a pending drain (no .playbackDrained for it); the speaker fades out over
// 10 ms and is silent within one period plus the fade (AudioRTLoop+Fade.swift). If the
// device is lost, queued answer audio is discarded and a pending drain completes at once, so
// the controller never waits for ever.
//
// This file: the engine's state, its knobs and its lifecycle (start/stop). Opening the devices
// and the audio thread (one `AudioStreamPlan` at a time) is in AudioEngine+Streams.swift.
// The state below is internal, not private, only so those sibling files can reach it.

public final class AudioEngine: @unchecked Sendable {
    // @unchecked: `shared` is raw memory of atomics (thread-safe by construction); the rings
    // follow their SPSC rules with each non-audio side serialised by its mutex; everything
    // else is immutable or inside a Mutex.

    /// Knobs that are not part of omni.conf (tests, benchmarks, the demo).
    public struct Options: Sendable {
        public enum Pacing: Sendable, Equatable {
            /// Production: the capture device's clock drives the loop.
            case device
            /// Sleep each period to a deadline at `speed` × real time, and play back against a
            /// virtual device clock. For ALSA devices without a clock (null, file plugin).
            case clock(speed: Double)
        }

        /// An ALSA config file merged over the global configuration for opening the PCMs.
        public var alsaConfigFile: String?
        public var pacing: Pacing = .device
        public var lockMemory = true
        public var reopenInterval: Duration = .seconds(1)
        /// A capture device that delivers nothing for this long counts as lost.
        public var stallTimeout: Duration = .seconds(2)
        /// Ring sizes, in milliseconds at the devices' rates (rounded up to a power of two
        /// samples; set when the devices open, `sizeRings`). The capture ring holds at least four
        /// times `lookback_ms` too: the idle trim keeps a quarter of it.
        public var captureRingMs = 2_000
        public var playbackRingMs = 4_000
        /// speexdsp quality, 0…10.
        public var resamplerQuality = SpeexResampler.defaultQuality
        /// Tap what the speaker is given for echo cancellation (`readReference`); the daemon
        /// does, tools that only play or record do not.
        public var echoReference = false
        /// Run the monitor's work on this loop's thread (it watches the engine's eventfd)
        /// instead of a monitor thread; `onEvent` is then called there
        /// (AudioEngine+LoopMonitor.swift). The daemon passes its controller loop.
        public var eventLoop: EventLoop?

        public init() {}
    }

    /// The service's formats.
    public static let captureOutputRate = 16_000
    public static let playbackInputRate = 24_000

    public let config: OmniConfig.Audio
    public let options: Options
    let logger: Logger
    let onEvent: @Sendable (AudioEvent) -> Void

    let shared: UnsafeMutablePointer<AudioShared>
    let captureRing: SPSCRing
    let playbackRing: SPSCRing
    let captureSide: Mutex<CaptureSide>
    let playbackSide: Mutex<PlaybackSide>
    let control: Mutex<EngineControl>
    let monitorStop = Atomic<Bool>(false)
    /// The monitor's wake-up: written by the audio thread (and by stop() and the controller's
    /// requests that need the monitor), read by the monitor. -1 if the kernel refused one: the
    /// monitor then falls back to waking every 10 ms.
    let wakeFD: Int32
    /// The audio thread's own wake-up (see `kickAudioThread`); -1 without one (it never coasts).
    let kickFD: Int32
    /// Counter values already turned into events (monitor thread; kept across restarts).
    let reported = Mutex(MonitorSeen())

    public init(config: OmniConfig.Audio, options: Options = Options(),
                logger: Logger = Logger(label: "omnid.audio"),
                onEvent: @escaping @Sendable (AudioEvent) -> Void = { _ in }) {
        self.config = config
        self.options = options
        self.logger = logger
        self.onEvent = onEvent
        shared = .allocate(capacity: 1)
        shared.initialize(to: AudioShared())
        shared.pointee.gainQ16.store(Int(Gain(linear: config.volume).q16), ordering: .relaxed)
        // At the lowest rate a device is opened at here (16 kHz); `sizeRings` fits them to the
        // devices (they were sized for 48 kHz whatever the rates: up to three times too large).
        captureRing = SPSCRing(minimumCapacity: Self.ringSamples(ms: Self.captureRingMs(options, config), rate: 16_000))
        playbackRing = SPSCRing(minimumCapacity: Self.ringSamples(ms: options.playbackRingMs, rate: 16_000))
        captureSide = Mutex(CaptureSide(resampler: PassthroughResampler(rate: Self.captureOutputRate)))
        playbackSide = Mutex(PlaybackSide(resampler: PassthroughResampler(rate: Self.playbackInputRate)))
        control = Mutex(EngineControl())
        wakeFD = omni_eventfd()
        kickFD = omni_eventfd()
        if wakeFD < 0 {
            logger.warning("eventfd failed (\(String(cString: strerror(errno)))); the audio monitor polls every 10 ms")
        }
    }

    deinit {
        if wakeFD >= 0 { close(wakeFD) }
        if kickFD >= 0 { close(kickFD) }
        shared.deinitialize(count: 1)
        shared.deallocate()
    }

    /// Ends a coast of a clock-paced audio thread (AudioRTClock.swift) now: called after
    /// publishing anything it must act on within a period. One non-blocking write; a no-op in
    /// effect while the thread runs period by period.
    func kickAudioThread() {
        var one: UInt64 = 1
        _ = write(kickFD, &one, 8)
    }

    /// Samples for `ms` at `rate` (the ring rounds up to a power of two).
    static func ringSamples(ms: Int, rate: Int) -> Int {
        max(1, ms) * max(1, rate) / 1000
    }

    /// The capture ring's time: `captureRingMs`, and at least four look-backs (the idle trim,
    /// AudioCaptureSide.swift, keeps the newest quarter of the ring for a turn to start from).
    static func captureRingMs(_ options: Options, _ config: OmniConfig.Audio) -> Int {
        max(options.captureRingMs, 4 * config.lookbackMs)
    }

    /// Fits the rings to the devices' rates, while a new stream plan is built (no audio thread
    /// runs): each side's mutex is held while its ring changes, and locked memory is unlocked
    /// before and locked again after.
    func sizeRings(_ c: inout EngineControl, captureRate: Int, playbackRate: Int) {
        let capture = SPSCRing.powerOfTwo(atLeast: Self.ringSamples(ms: Self.captureRingMs(options, config), rate: captureRate))
        let playback = SPSCRing.powerOfTwo(atLeast: Self.ringSamples(ms: options.playbackRingMs, rate: playbackRate))
        guard capture != captureRing.capacity || playback != playbackRing.capacity else { return }
        let relock = c.memoryLocked
        if relock { c.locked.unlockAll() }
        captureSide.withLock { _ in captureRing.resize(minimumCapacity: capture) }
        playbackSide.withLock { _ in playbackRing.resize(minimumCapacity: playback) }
        if relock, let warning = lockEngineMemory(&c) {
            logger.warning("\(warning)")
            c.memoryLocked = false
        }
    }

    /// Locks the rings and the shared atomics (each stream plan locks its own buffers and the
    /// audio thread its stack). On failure nothing stays locked.
    private func lockEngineMemory(_ c: inout EngineControl) -> String? {
        // (The echo reference ring is the stream plan's: sized to the devices' rates.)
        var regions = captureRing.memoryRegions + playbackRing.memoryRegions
        regions.append((UnsafeRawPointer(shared), MemoryLayout<AudioShared>.size))
        for r in regions {
            if let failure = c.locked.lock(r.address, bytes: r.bytes) {
                c.locked.unlockAll()
                return failure
            }
        }
        return nil
    }

    /// Makes the monitor thread look at everything now (from any thread but the audio thread,
    /// which has its own copy of the fd).
    func wakeMonitor() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: lifecycle

    /// Opens the devices and starts the audio and monitor threads. With `waitForDevice`, a
    /// device that cannot be opened now is reported (.deviceLost) and retried every
    /// reopenInterval; without it, the open error is thrown.
    public func start(waitForDevice: Bool = true) throws {
        try control.withLock { c in
            guard !c.running else { return }
            if options.lockMemory && !c.memoryLocked {
                if let warning = lockEngineMemory(&c) {
                    logger.warning("\(warning)")
                } else {
                    c.memoryLocked = true
                }
            }
            do {
                try startStreams(&c)
            } catch {
                guard waitForDevice else {
                    if c.memoryLocked {
                        c.locked.unlockAll()
                        c.memoryLocked = false
                    }
                    throw error
                }
                logger.warning("audio devices not available (\(error)); retrying every \(options.reopenInterval)")
                c.reopenPending = true
                c.lastOpenError = "\(error)"
                shared.pointee.deviceLosses.wrappingAdd(1, ordering: .relaxed)
                // Reported by the monitor thread, like every event.
                c.startupLoss = .deviceLost(direction: direction(of: error), reason: "\(error)")
            }
            monitorStop.store(false, ordering: .relaxed)
            if let loop = options.eventLoop, wakeFD >= 0 {
                c.loopMonitor = LoopMonitor(loop: loop, state: MonitorState(seen: reported.withLock { $0 },
                                                                            nextReopen: monotonicNanos() + reopenNanos))
            } else {
                do {
                    // The closure keeps the engine alive while the monitor runs (stop() joins it).
                    c.monitor = try PThread.start(PThread.Options(name: "omni-audio-mon", stackBytes: 256 * 1024)) { [self] in
                        monitorMain()
                    }
                } catch {
                    stopStreams(&c)
                    throw error
                }
            }
            c.running = true
        }
        if let monitor = control.withLock({ $0.loopMonitor }) {
            onLoop(monitor.loop) { [self] in attachLoopMonitor(monitor) }
        }
    }

    /// Stops both threads and closes the devices. Queued audio is discarded. Call it before
    /// releasing the engine (the monitor thread holds a reference while it runs), and not from
    /// `onEvent` on a monitor thread (which stop() waits for; on an `eventLoop` it may).
    public func stop() {
        let (monitor, loopMonitor) = control.withLock { c -> (PThread?, LoopMonitor?) in
            guard c.running else { return (nil, nil) }
            c.running = false
            defer {
                c.monitor = nil
                c.loopMonitor = nil
            }
            return (c.monitor, c.loopMonitor)
        }
        if let loopMonitor {
            onLoop(loopMonitor.loop) { [self] in detachLoopMonitor(loopMonitor) }
        } else {
            guard let monitor else { return }
            monitorStop.store(true, ordering: .releasing)
            wakeMonitor()
            monitor.join()
        }
        control.withLock { c in
            stopStreams(&c)
            c.reopenPending = false
            if c.memoryLocked {
                c.locked.unlockAll()
                c.memoryLocked = false
            }
        }
        discardQueues()
    }
}
