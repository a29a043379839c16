#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import Logging
import OmniCore
import Synchronization

// The audio engine: capture and playback devices (ALSA, or the `file:` backend), one audio
// thread moving audio between them and two SPSC rings, and a monitor thread that reports
// events, keeps the playback ring topped up and reopens lost devices.
//
//   controller ──enqueuePlayback(24 kHz)──▶ speexdsp → device rate ──▶ [playback ring] ──▶ audio thread ──▶ speaker
//   controller ◀──readCaptured(16 kHz)──── speexdsp ← device rate ◀── [capture ring]  ◀── audio thread ◀── mic
//
// Threads:
//  - audio thread ("omni-audio", SCHED_FIFO when permitted): see AudioRTLoop.swift.
//  - monitor thread ("omni-audio-mon", normal priority): every `monitorInterval` it moves
//    answer audio that did not fit into the playback ring, turns counter changes into events
//    (xrun, underrun, drained) and handles device loss: closes the devices, reopens them every
//    `reopenInterval` until they are back. `onEvent` is called on this thread only — keep it
//    short (post to the controller).
//  - callers: all public methods are thread-safe. Conversion runs on the calling thread, under
//    a mutex per direction that the audio thread never takes.
//
// Answer lifecycle: enqueuePlayback(...)* → endOfAnswer() → .playbackDrained once the device
// has played the last sample. flush() (barge-in) discards everything queued and the device
// buffer within one period and cancels a pending drain (no .playbackDrained for it). If the
// device is lost, queued answer audio is discarded and a pending drain completes at once, so
// the controller never waits for ever.

public enum AudioEvent: Sendable, Equatable, CustomStringConvertible {
    /// A device failed (unplugged, error, stall); the engine reopens it every reopenInterval.
    case deviceLost(direction: AudioDirection, reason: String)
    /// Devices are open again (also sent when the first open succeeds after start(waitForDevice:)).
    case deviceBack(capture: AudioDeviceFormat, playback: AudioDeviceFormat)
    /// Everything queued before endOfAnswer() has been played (or discarded by a device loss).
    case playbackDrained
    /// An ALSA over/underrun was recovered; `total` counts this direction's xruns so far.
    case xrun(direction: AudioDirection, total: Int)
    /// Answer audio ran dry mid-answer; silence was played. `total` so far.
    case underrun(total: Int)

    public var description: String {
        switch self {
        case .deviceLost(let d, let reason): "audio \(d.rawValue) device lost: \(reason)"
        case .deviceBack(let c, let p): "audio devices back: capture \(c), playback \(p)"
        case .playbackDrained: "playback drained"
        case .xrun(let d, let total): "\(d.rawValue) xrun (total \(total))"
        case .underrun(let total): "playback underrun (total \(total))"
        }
    }
}

public struct AudioCounters: Sendable, Equatable {
    public var capturedFrames = 0
    /// Captured frames dropped because nobody read the capture ring.
    public var captureOverflowFrames = 0
    /// Frames written to the playback device (answer, earcons and silence).
    public var playbackFramesWritten = 0
    /// Answer samples taken from the playback ring (device rate).
    public var answerFramesPlayed = 0
    public var captureXruns = 0
    public var playbackXruns = 0
    public var underruns = 0
    public var flushes = 0
    /// Audio-thread periods the latest flush waited before it took effect (design: ≤ 1).
    public var lastFlushLatencyPeriods = 0
    public var earconsPlayed = 0
    public var deviceLosses = 0
    public var reopenings = 0
    public var reopenAttempts = 0
    public var loopIterations = 0
    public var audioThreadCPU: Duration = .zero

    public var xruns: Int { captureXruns + playbackXruns }
}

public struct AudioStatus: Sendable, Equatable {
    public var running: Bool
    public var devicesOpen: Bool
    public var capture: AudioDeviceFormat?
    public var playback: AudioDeviceFormat?
    /// SCHED_FIFO priority of the audio thread, nil when it runs at normal priority.
    public var realtimePriority: Int?
    public var memoryLocked: Bool
    /// Kernel thread id of the audio thread (for `chrt -p`, `top -H`).
    public var audioThreadID: Int?
}

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
        public var monitorInterval: Duration = .milliseconds(10)
        /// A capture device that delivers nothing for this long counts as lost.
        public var stallTimeout: Duration = .seconds(2)
        /// Ring sizes, in milliseconds at 48 kHz (rounded up to a power of two samples).
        public var captureRingMs = 2_000
        public var playbackRingMs = 4_000
        /// speexdsp quality, 0…10.
        public var resamplerQuality = SpeexResampler.defaultQuality

        public init() {}
    }

    /// The service's formats.
    public static let captureOutputRate = 16_000
    public static let playbackInputRate = 24_000

    public let config: OmniConfig.Audio
    public let options: Options
    private let logger: Logger
    private let onEvent: @Sendable (AudioEvent) -> Void

    private let shared: UnsafeMutablePointer<AudioShared>
    private let captureRing: SPSCRing
    private let playbackRing: SPSCRing
    private let captureSide: Mutex<CaptureSide>
    private let playbackSide: Mutex<PlaybackSide>
    private let control: Mutex<Control>
    private let monitorStop = Atomic<Bool>(false)
    /// Counter values already turned into events (monitor thread; kept across restarts).
    private let reported = Mutex(Seen())

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
        captureRing = SPSCRing(minimumCapacity: max(1, options.captureRingMs) * 48)
        playbackRing = SPSCRing(minimumCapacity: max(1, options.playbackRingMs) * 48)
        captureSide = Mutex(CaptureSide(resampler: PassthroughResampler(rate: Self.captureOutputRate)))
        playbackSide = Mutex(PlaybackSide(resampler: PassthroughResampler(rate: Self.playbackInputRate)))
        control = Mutex(Control())
    }

    deinit {
        shared.deinitialize(count: 1)
        shared.deallocate()
    }

    // MARK: lifecycle

    /// Opens the devices and starts the audio and monitor threads. With `waitForDevice`, a
    /// device that cannot be opened now is reported (.deviceLost) and retried every
    /// reopenInterval; without it, the open error is thrown.
    public func start(waitForDevice: Bool = true) throws {
        try control.withLock { c in
            guard !c.running else { return }
            if options.lockMemory && !c.memoryLocked {
                if let warning = RealtimeThread.lockMemory() {
                    logger.warning("\(warning)")
                } else {
                    c.memoryLocked = true
                }
            }
            do {
                try startSession(&c)
            } catch {
                guard waitForDevice else {
                    if c.memoryLocked {
                        RealtimeThread.unlockMemory()
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
            let box = Unmanaged.passRetained(self).toOpaque()
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { raw in
                let engine = Unmanaged<AudioEngine>.fromOpaque(raw!).takeRetainedValue()
                engine.monitorMain()
                return nil
            }, box)
            if rc != 0 {
                Unmanaged<AudioEngine>.fromOpaque(box).release()
                stopSession(&c)
                throw ThreadStartError(code: rc)
            }
            c.monitor = tid
            c.running = true
        }
    }

    /// Stops both threads and closes the devices. Queued audio is discarded. Call it before
    /// releasing the engine (the monitor thread holds a reference while it runs), and not from
    /// `onEvent` (that runs on the monitor thread, which stop() waits for).
    public func stop() {
        let monitor = control.withLock { c -> pthread_t? in
            guard c.running else { return nil }
            c.running = false
            defer { c.monitor = nil }
            return c.monitor
        }
        guard let monitor else { return }
        monitorStop.store(true, ordering: .relaxed)
        pthread_join(monitor, nil)
        control.withLock { c in
            stopSession(&c)
            c.reopenPending = false
            if c.memoryLocked {
                RealtimeThread.unlockMemory()
                c.memoryLocked = false
            }
        }
        discardQueues()
    }

    // MARK: capture side

    /// Moves captured audio, converted to 16 kHz mono, into `buffer`; returns samples written.
    public func readCaptured(into buffer: UnsafeMutableBufferPointer<Int16>) -> Int {
        let ring = captureRing.view
        return captureSide.withLock { $0.read(from: ring, into: buffer) }
    }

    /// All captured audio available now, converted to 16 kHz mono.
    public func readCaptured() -> [Int16] {
        var out: [Int16] = []
        var chunk = [Int16](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { readCaptured(into: $0) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Drops captured audio not read yet (e.g. when listening starts, to skip stale audio).
    public func discardCaptured() {
        let ring = captureRing.view
        captureSide.withLock { side in
            ring.discardAll()
            side.carry = 0
            side.resampler.reset()
        }
    }

    // MARK: playback side

    /// Queues answer audio (24 kHz mono). Never drops: what does not fit the ring waits in a
    /// queue the monitor thread moves on as the ring drains.
    public func enqueuePlayback(samples24k: UnsafeBufferPointer<Int16>) {
        let ring = playbackRing.view
        playbackSide.withLock { side in
            side.converted.removeAll(keepingCapacity: true)
            side.resampler.convert(samples24k, appendingTo: &side.converted)
            side.push(side.converted, into: ring)
        }
    }

    public func enqueuePlayback(samples24k: [Int16]) {
        samples24k.withUnsafeBufferPointer { enqueuePlayback(samples24k: $0) }
    }

    /// The answer is complete: play everything queued, then report .playbackDrained.
    public func endOfAnswer() {
        let ring = playbackRing.view
        playbackSide.withLock { side in
            side.converted.removeAll(keepingCapacity: true)
            side.resampler.finish(into: &side.converted)
            side.push(side.converted, into: ring)
            let mark = ring.writePosition + side.pendingCount
            shared.pointee.drainMark.store(mark, ordering: .relaxed)
            shared.pointee.drainSerial.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// Barge-in: silence within one period. Discards queued answer audio and the device
    /// buffer, cancels a pending drain. Earcons keep playing.
    public func flush() {
        let ring = playbackRing.view
        playbackSide.withLock { side in
            side.clearPending()
            side.resampler.reset()
            shared.pointee.flushMark.store(ring.writePosition, ordering: .relaxed)
            shared.pointee.flushCancelsDrainsUpTo.store(shared.pointee.drainSerial.load(ordering: .relaxed),
                                                        ordering: .relaxed)
            shared.pointee.flushRequestedAtIteration.store(shared.pointee.loopIterations.load(ordering: .relaxed),
                                                           ordering: .relaxed)
            shared.pointee.flushSerial.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// Plays an earcon over whatever is playing (no-op when earcons are off in the config).
    public func playEarcon(_ kind: EarconKind) {
        guard config.earcons else { return }
        playbackSide.withLock { _ in
            let serial = (shared.pointee.earconRequest.load(ordering: .relaxed) >> 8) + 1
            shared.pointee.earconRequest.store(serial << 8 | kind.rawValue, ordering: .releasing)
        }
    }

    /// Software output volume (linear, 0…4; 1 = unity), effective from the next period.
    public func setVolume(_ linear: Double) {
        shared.pointee.gainQ16.store(Int(Gain(linear: linear).q16), ordering: .relaxed)
    }

    public var volume: Double {
        Gain(q16: Int32(truncatingIfNeeded: shared.pointee.gainQ16.load(ordering: .relaxed))).linear
    }

    /// Answer audio queued but not yet handed to the device, in milliseconds.
    public var queuedPlaybackMs: Int {
        let ring = playbackRing.view
        let (pending, rate) = playbackSide.withLock { ($0.pendingCount, $0.rate) }
        let inRing = ring.writePosition - ring.readPosition
        return (inRing + pending) * 1000 / max(1, rate)
    }

    // MARK: observation

    public var counters: AudioCounters {
        let s = shared
        var c = AudioCounters()
        c.capturedFrames = s.pointee.capturedFrames.load(ordering: .relaxed)
        c.captureOverflowFrames = s.pointee.captureOverflowFrames.load(ordering: .relaxed)
        c.playbackFramesWritten = s.pointee.playbackFramesWritten.load(ordering: .relaxed)
        c.answerFramesPlayed = s.pointee.answerFramesPlayed.load(ordering: .relaxed)
        c.captureXruns = s.pointee.captureXruns.load(ordering: .relaxed)
        c.playbackXruns = s.pointee.playbackXruns.load(ordering: .relaxed)
        c.underruns = s.pointee.underruns.load(ordering: .relaxed)
        c.flushes = s.pointee.flushesApplied.load(ordering: .relaxed)
        c.lastFlushLatencyPeriods = s.pointee.lastFlushLatencyPeriods.load(ordering: .relaxed)
        c.earconsPlayed = s.pointee.earconsPlayed.load(ordering: .relaxed)
        c.deviceLosses = s.pointee.deviceLosses.load(ordering: .relaxed)
        c.reopenings = s.pointee.reopenings.load(ordering: .relaxed)
        c.reopenAttempts = s.pointee.reopenAttempts.load(ordering: .relaxed)
        c.loopIterations = s.pointee.loopIterations.load(ordering: .relaxed)
        c.audioThreadCPU = .nanoseconds(s.pointee.audioThreadCPUNanos.load(ordering: .relaxed))
        return c
    }

    public var status: AudioStatus {
        control.withLock { c in
            let open = c.session != nil
            let tid = shared.pointee.audioThreadID.load(ordering: .relaxed)
            return AudioStatus(running: c.running, devicesOpen: open, capture: c.session?.captureFormat,
                               playback: c.session?.playbackFormat, realtimePriority: c.session?.realtimePriority,
                               memoryLocked: c.memoryLocked, audioThreadID: open && tid != 0 ? tid : nil)
        }
    }

    /// Test hook: the audio thread's next capture read (or playback avail) fails with `-errno`,
    /// as if the device had returned it (EPIPE: xrun, ENODEV: unplugged). ALSA devices only.
    public func _injectDeviceError(_ direction: AudioDirection, errno code: Int32) {
        switch direction {
        case .capture: shared.pointee.injectCaptureError.store(-Int(code), ordering: .relaxed)
        case .playback: shared.pointee.injectPlaybackError.store(-Int(code), ordering: .relaxed)
        }
    }

    // MARK: sessions (called with `control` held)

    private func startSession(_ c: inout Control) throws {
        let params = AudioSession.Parameters(
            config: config, alsaConfigFile: options.alsaConfigFile,
            pacingSpeed: { if case .clock(let speed) = options.pacing { return max(0.01, speed) }; return nil }(),
            stallTimeoutNanos: Int(options.stallTimeout.components.seconds) * 1_000_000_000
                + Int(options.stallTimeout.components.attoseconds / 1_000_000_000))
        let session = try AudioSession(params, shared: shared, captureRing: captureRing.view,
                                       playbackRing: playbackRing.view)
        try configureConverters(capture: session.captureFormat.rate, playback: session.playbackFormat.rate)
        // Requests from before this point belong to a previous session (or none): skip them.
        // Taken under the playback mutex so no request is half-published.
        playbackSide.withLock { _ in
            session.rt.pointee.seenFlushSerial = shared.pointee.flushSerial.load(ordering: .acquiring)
            session.rt.pointee.seenDrainSerial = shared.pointee.drainSerial.load(ordering: .acquiring)
            session.rt.pointee.seenEarconSerial = shared.pointee.earconRequest.load(ordering: .acquiring) >> 8
            session.rt.pointee.cancelDrainsUpTo = shared.pointee.flushCancelsDrainsUpTo.load(ordering: .relaxed)
        }
        shared.pointee.stop.store(false, ordering: .relaxed)
        shared.pointee.sessionState.store(SessionState.idle.rawValue, ordering: .relaxed)
        shared.pointee.audioThreadID.store(0, ordering: .relaxed)
        if let warning = try session.start(priority: config.rtPriority) {
            if !c.warnedPriority { logger.warning("\(warning)") }
            c.warnedPriority = true
        }
        c.session = session
        c.reopenPending = false
        let prio = session.realtimePriority.map { "SCHED_FIFO \($0)" } ?? "normal priority"
        logger.info("audio capture \(session.captureFormat); playback \(session.playbackFormat); audio thread at \(prio)")
    }

    private func stopSession(_ c: inout Control) {
        guard let session = c.session else { return }
        shared.pointee.stop.store(true, ordering: .relaxed)
        session.join()
        session.close()
        c.session = nil
        shared.pointee.stop.store(false, ordering: .relaxed)
        shared.pointee.sessionState.store(SessionState.idle.rawValue, ordering: .relaxed)
    }

    /// New converters for the device rates; rings and queues emptied (no audio thread runs).
    private func configureConverters(capture captureRate: Int, playback playbackRate: Int) throws {
        let cring = captureRing.view
        let pring = playbackRing.view
        let quality = options.resamplerQuality
        try captureSide.withLock { side in
            side = CaptureSide(resampler: try makeResampler(from: captureRate, to: Self.captureOutputRate, quality: quality))
            cring.discardAll()
        }
        try playbackSide.withLock { side in
            side = PlaybackSide(resampler: try makeResampler(from: Self.playbackInputRate, to: playbackRate, quality: quality))
            pring.discardAll()
        }
    }

    /// After the audio thread is gone: drop queued audio in both directions.
    private func discardQueues() {
        let cring = captureRing.view
        let pring = playbackRing.view
        captureSide.withLock { side in
            cring.discardAll()
            side.carry = 0
            side.resampler.reset()
        }
        playbackSide.withLock { side in
            pring.discardAll()
            side.clearPending()
            side.resampler.reset()
        }
    }

    private func direction(of error: any Error) -> AudioDirection {
        if let e = error as? AudioDeviceError, e.device == config.playback, e.device != config.capture { return .playback }
        return .capture
    }

    private func emit(_ event: AudioEvent) {
        onEvent(event)
    }

    // MARK: monitor thread

    fileprivate struct Seen {
        var captureXruns = 0
        var playbackXruns = 0
        var underruns = 0
        var drainedSerial = 0
        var overflowLogged = 0
    }

    private func monitorMain() {
        omni_name_current_thread("omni-audio-mon")
        // What was already reported survives stop/start; anything since (even before this
        // thread got going) is reported now.
        var seen = reported.withLock { $0 }
        defer { reported.withLock { [seen] in $0 = seen } }
        let intervalNanos = max(1_000_000, nanos(options.monitorInterval))
        let reopenNanos = max(1_000_000, nanos(options.reopenInterval))
        var nextReopen = monotonicNanos() + reopenNanos
        while !monitorStop.load(ordering: .relaxed) {
            sleepUntil(monotonicNanos: monotonicNanos() + intervalNanos)
            pumpPlayback()
            if let event = control.withLock({ c -> AudioEvent? in defer { c.startupLoss = nil }; return c.startupLoss }) {
                emit(event)
            }
            if shared.pointee.sessionState.load(ordering: .acquiring) == SessionState.lost.rawValue {
                handleLoss()
                nextReopen = monotonicNanos() + reopenNanos
            }
            reportCounters(&seen)
            if control.withLock({ $0.reopenPending }) && monotonicNanos() >= nextReopen {
                tryReopen()
                nextReopen = monotonicNanos() + reopenNanos
            }
        }
    }

    private func nanos(_ d: Duration) -> Int {
        Int(d.components.seconds) * 1_000_000_000 + Int(d.components.attoseconds / 1_000_000_000)
    }

    private func pumpPlayback() {
        let ring = playbackRing.view
        playbackSide.withLock { $0.pump(into: ring) }
    }

    private func reportCounters(_ seen: inout Seen) {
        let cx = shared.pointee.captureXruns.load(ordering: .relaxed)
        if cx != seen.captureXruns {
            seen.captureXruns = cx
            logger.warning("audio capture xrun recovered (total \(cx))")
            emit(.xrun(direction: .capture, total: cx))
        }
        let px = shared.pointee.playbackXruns.load(ordering: .relaxed)
        if px != seen.playbackXruns {
            seen.playbackXruns = px
            logger.warning("audio playback xrun recovered (total \(px))")
            emit(.xrun(direction: .playback, total: px))
        }
        let u = shared.pointee.underruns.load(ordering: .relaxed)
        if u != seen.underruns {
            seen.underruns = u
            logger.notice("answer audio underrun, played silence (total \(u))")
            emit(.underrun(total: u))
        }
        let d = shared.pointee.drainedSerial.load(ordering: .acquiring)
        if d != seen.drainedSerial {
            seen.drainedSerial = d
            logger.debug("playback drained")
            emit(.playbackDrained)
        }
        // An endOfAnswer() while no device session runs would otherwise never drain.
        if control.withLock({ $0.session == nil }) { completeOutstandingDrain() }
    }

    /// Marks the latest endOfAnswer() drained unless a flush cancelled it.
    private func completeOutstandingDrain() {
        let requested = shared.pointee.drainSerial.load(ordering: .acquiring)
        let drained = shared.pointee.drainedSerial.load(ordering: .relaxed)
        let cancelled = shared.pointee.flushCancelsDrainsUpTo.load(ordering: .relaxed)
        if requested > drained && requested > cancelled {
            shared.pointee.drainedSerial.store(requested, ordering: .releasing)
        }
    }

    /// The audio thread ended its session with a device error: close, report, start reopening.
    private func handleLoss() {
        let code = Int32(truncatingIfNeeded: shared.pointee.lostError.load(ordering: .relaxed))
        let direction: AudioDirection = shared.pointee.lostDirection.load(ordering: .relaxed) == 2 ? .playback : .capture
        let device = direction == .capture ? config.capture : config.playback
        control.withLock { c in
            stopSession(&c)
            c.reopenPending = true
            c.lastOpenError = nil
        }
        discardQueues()
        completeOutstandingDrain()
        shared.pointee.deviceLosses.wrappingAdd(1, ordering: .relaxed)
        let reason = code == -ETIMEDOUT ? "\(device): no audio for \(options.stallTimeout)" : "\(device): \(ALSA.errorText(code))"
        logger.error("audio \(direction.rawValue) device lost (\(reason)); reopening every \(options.reopenInterval)")
        emit(.deviceLost(direction: direction, reason: reason))
    }

    /// One attempt to open the devices again.
    private func tryReopen() {
        shared.pointee.reopenAttempts.wrappingAdd(1, ordering: .relaxed)
        let formats: (AudioDeviceFormat, AudioDeviceFormat)? = control.withLock { c in
            guard c.running, c.reopenPending else { return nil }
            do {
                try startSession(&c)
                return c.session.map { ($0.captureFormat, $0.playbackFormat) }
            } catch {
                let text = "\(error)"
                if c.lastOpenError != text {
                    logger.info("audio devices still unavailable: \(text)")
                    c.lastOpenError = text
                }
                return nil
            }
        }
        if let (capture, playback) = formats {
            shared.pointee.reopenings.wrappingAdd(1, ordering: .relaxed)
            logger.notice("audio devices back")
            emit(.deviceBack(capture: capture, playback: playback))
        }
    }
}

// MARK: - controller-side state

private struct Control: ~Copyable {
    var running = false
    var session: AudioSession?
    var monitor: pthread_t?
    var memoryLocked = false
    var reopenPending = false
    var warnedPriority = false
    var lastOpenError: String?
    /// The first open failed in start(waitForDevice: true): the monitor reports it.
    var startupLoss: AudioEvent?
}

/// Capture conversion state, owned by whoever holds the capture mutex (the ring's consumer).
/// @unchecked Sendable: it only ever lives inside that Mutex; the resampler is never shared.
private struct CaptureSide: @unchecked Sendable {
    var resampler: any Resampler
    /// Device-rate samples taken from the ring but not yet consumed by the resampler.
    var scratch = [Int16](repeating: 0, count: 4096)
    var carry = 0

    init(resampler: any Resampler) { self.resampler = resampler }

    mutating func read(from ring: SPSCRingView, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        var written = 0
        while written < out.count {
            let space = scratch.count - carry
            let offset = carry
            let n = scratch.withUnsafeMutableBufferPointer { ring.read(into: $0.baseAddress! + offset, count: space) }
            let total = carry + n
            if total == 0 { break }
            let r = scratch.withUnsafeBufferPointer { input in
                resampler.process(UnsafeBufferPointer(rebasing: input[0..<total]),
                                  into: UnsafeMutableBufferPointer(rebasing: out[written...]))
            }
            written += r.produced
            let left = total - r.consumed
            if left > 0 && r.consumed > 0 {
                scratch.withUnsafeMutableBufferPointer { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + r.consumed, left * 2)
                }
            }
            carry = left
            if n == 0 && (r.consumed == 0 || r.produced == 0) { break }
        }
        return written
    }
}

/// Playback conversion state, owned by whoever holds the playback mutex (the ring's producer).
/// @unchecked Sendable: it only ever lives inside that Mutex; the resampler is never shared.
private struct PlaybackSide: @unchecked Sendable {
    var resampler: any Resampler
    var converted: [Int16] = []
    /// Device-rate samples waiting for room in the ring.
    var pending: [Int16] = []
    var pendingHead = 0

    /// Device (output) rate.
    let rate: Int

    init(resampler: any Resampler) {
        self.resampler = resampler
        rate = resampler.outputRate
    }
    var pendingCount: Int { pending.count - pendingHead }

    mutating func push(_ samples: [Int16], into ring: SPSCRingView) {
        guard !samples.isEmpty else { return }
        var start = 0
        if pendingCount == 0 {
            start = samples.withUnsafeBufferPointer { ring.write($0.baseAddress!, count: $0.count) }
        }
        if start < samples.count { pending.append(contentsOf: samples[start...]) }
    }

    mutating func pump(into ring: SPSCRingView) {
        guard pendingCount > 0 else { return }
        let head = pendingHead
        let n = pending.withUnsafeBufferPointer { ring.write($0.baseAddress! + head, count: $0.count - head) }
        pendingHead += n
        if pendingHead == pending.count {
            clearPending()
        } else if pendingHead > 1 << 16 && pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    mutating func clearPending() {
        pending.removeAll(keepingCapacity: pending.count < 1 << 20)
        pendingHead = 0
    }
}
