import Dispatch
import Logging
import OmniCore
import OmniSystem
import Synchronization

// The camera's own thread (`omni-camera`, normal priority; never the audio thread): while the
// controller keeps it active it takes a frame every frame interval, encodes it and hands it over
// (`onFrame`, from this thread). Nothing here waits on the controller, and the controller never
// waits on this thread: `setActive` only flips a flag and wakes it.
//
// A camera that fails (unplugged, or stops delivering) is closed, logged once, and opened again
// every `retryInterval` while the thread is active; the first frame after it returns is logged
// as "back". The privacy LED is on exactly while the source is started.

public final class CameraCapture: Sendable {
    public struct Options: Sendable {
        public var interval: Duration
        /// Between attempts to open a camera that is missing.
        public var retryInterval: Duration
        /// No frame for this long while streaming counts as a lost camera.
        public var stallTimeout: Duration
        /// One wait for a frame; the thread checks for deactivation between waits.
        public var pollSlice: Duration

        public init(interval: Duration, retryInterval: Duration = .seconds(1), stallTimeout: Duration = .seconds(3),
                    pollSlice: Duration = .milliseconds(200)) {
            self.interval = interval
            self.retryInterval = retryInterval
            self.stallTimeout = stallTimeout
            self.pollSlice = pollSlice
        }
    }

    private struct Control {
        var active = false
        var stop = false
    }

    /// Counters for status lines and tests (read from any thread).
    public struct Counters: Sendable, Equatable {
        public var framesEncoded = 0
        public var frameErrors = 0
        public var losses = 0
        public var reopens = 0
        /// Attempts to start a source that failed (a missing camera is tried every retryInterval).
        public var failedStarts = 0
    }

    public let options: Options
    private let control = Mutex(Control())
    private let wake = DispatchSemaphore(value: 0)
    private let counters = Mutex(Counters())
    private let thread = Mutex<PThread?>(nil)
    private let body: Body

    /// - Parameters:
    ///   - makeSource: builds the source on the capture thread (a V4L2 device is opened there).
    ///   - onFrame: every encoded frame, on the capture thread.
    public init(options: Options, makeSource: @escaping @Sendable () -> any CameraSource,
                encoder: CameraFrameEncoder.Settings, light: any CameraPrivacyLight, clock: any MonotonicClock,
                logger: Logger, onFrame: @escaping @Sendable (CameraFrame) -> Void) {
        self.options = options
        body = Body(makeSource: makeSource, encoder: encoder, light: light, clock: clock, logger: logger, onFrame: onFrame)
    }

    public var status: Counters { counters.withLock { $0 } }

    /// Starts the thread (idle until `setActive(true)`).
    public func start() throws(ThreadStartError) {
        let t = try PThread.start(PThread.Options(name: "omni-camera")) { [self] in run() }
        thread.withLock { $0 = t }
    }

    /// From any thread: capture (true) or stop capturing (false). Never blocks.
    public func setActive(_ on: Bool) {
        let changed = control.withLock { c in
            defer { c.active = on }
            return c.active != on
        }
        if changed { wake.signal() }
    }

    /// Asks the thread to stop (LED off, camera closed); `join` waits for it.
    public func requestStop() {
        control.withLock { $0.stop = true }
        wake.signal()
    }

    public func join() {
        let t = thread.withLock { t -> PThread? in defer { t = nil }; return t }
        t?.join()
    }

    // MARK: The thread

    private func run() {
        var s = body.makeState()
        while true {
            let c = control.withLock { $0 }
            if c.stop { break }
            if !c.active {
                s.stopCapturing()
                wake.wait()
                continue
            }
            if !s.capturing {
                guard s.startCapturing(counters: counters) else {
                    sleep(options.retryInterval)
                    continue
                }
            }
            let now = body.clock.now()
            if now < s.nextShot {
                sleep(s.nextShot - now)
                continue
            }
            s.shoot(options: options, counters: counters, stillWanted: { self.control.withLock { $0.active && !$0.stop } })
        }
        s.stopCapturing()
        s.close()
    }

    /// Waits up to `d`, or until `setActive`/`requestStop` wakes the thread.
    private func sleep(_ d: Duration) {
        _ = wake.wait(timeout: .now() + .nanoseconds(Int(max(0, d.wholeNanoseconds))))
    }

    /// What the thread was built with.
    private struct Body: Sendable {
        let makeSource: @Sendable () -> any CameraSource
        let encoder: CameraFrameEncoder.Settings
        let light: any CameraPrivacyLight
        let clock: any MonotonicClock
        let logger: Logger
        let onFrame: @Sendable (CameraFrame) -> Void

        func makeState() -> CaptureState { CaptureState(body: self) }
    }

    /// The thread's own state; never leaves it.
    private struct CaptureState {
        let body: Body
        var source: (any CameraSource)?
        var encoder: CameraFrameEncoder?
        var capturing = false
        var nextShot: Duration = .zero
        /// A failure was logged and not yet followed by a success (log it once, then "back").
        var failing: String?
        var lastFrameError: String?
        /// The source's description last logged ("capturing from …"): logged again when it changes.
        var announced: String?

        init(body: Body) {
            self.body = body
        }

        mutating func startCapturing(counters: borrowing Mutex<Counters>) -> Bool {
            if source == nil { source = body.makeSource() }
            if encoder == nil {
                do {
                    encoder = try CameraFrameEncoder(settings: body.encoder)
                } catch {
                    fail("camera: \(error)", counters)
                    return false
                }
            }
            body.light.set(true)
            do {
                try source!.start()
            } catch {
                body.light.set(false)
                source!.close()
                counters.withLock { $0.failedStarts += 1 }
                fail("camera \(source!.name) unavailable: \(error); trying again every second while a turn wants it", counters)
                return false
            }
            capturing = true
            nextShot = body.clock.now()
            // What was opened and negotiated (device, driver, format, size, passthrough or encoded),
            // once per opening rather than once per turn.
            let name = source!.name
            if name != announced {
                announced = name
                body.logger.info("camera: capturing from \(name)")
            }
            return true
        }

        mutating func stopCapturing() {
            guard capturing else { return }
            source?.stop()
            capturing = false
            body.light.set(false)
        }

        mutating func close() {
            source?.close()
            source = nil
        }

        /// Takes, encodes and hands over one frame; on a lost camera, closes it for a reopen.
        mutating func shoot(options: Options, counters: borrowing Mutex<Counters>, stillWanted: () -> Bool) {
            guard let source, let encoder else { return }
            let began = body.clock.now()
            do {
                var raw: RawFrame?
                while raw == nil {
                    raw = try source.nextFrame(timeout: options.pollSlice)
                    if raw == nil {
                        guard stillWanted() else { return }
                        if body.clock.now() - began >= options.stallTimeout {
                            throw CameraError(.gone, "no frame from \(source.name) for \(options.stallTimeout)")
                        }
                    }
                }
                let frame = try encoder.cameraFrame(raw!, encodedAt: { body.clock.now() })
                if failing != nil {
                    body.logger.info("camera \(source.name) is back")
                    failing = nil
                    counters.withLock { $0.reopens += 1 }
                }
                lastFrameError = nil
                counters.withLock { $0.framesEncoded += 1 }
                body.onFrame(frame)
                // Keep the rhythm; after a slow frame start again from now rather than catch up.
                nextShot += options.interval
                if nextShot < body.clock.now() { nextShot = body.clock.now() }
            } catch let error as CameraError where error.kind == .gone {
                source.close()
                capturing = false
                body.light.set(false)
                counters.withLock { $0.losses += 1 }
                fail("camera lost: \(error); reopening when it returns", counters)
            } catch {
                // One bad frame (a damaged MJPEG, an unreadable file): skip it, log each new reason once.
                counters.withLock { $0.frameErrors += 1 }
                if lastFrameError != "\(error)" {
                    lastFrameError = "\(error)"
                    body.logger.warning("camera frame skipped: \(error)")
                }
                nextShot += options.interval
            }
        }

        private mutating func fail(_ message: String, _ counters: borrowing Mutex<Counters>) {
            guard failing == nil else { return }
            failing = message
            body.logger.error("\(message)")
        }
    }
}
