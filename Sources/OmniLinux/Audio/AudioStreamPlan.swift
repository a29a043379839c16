#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniSystem

// The audio thread's stream plan: the opened capture and playback devices, every buffer the
// audio thread will touch, the earcons rendered at the playback rate, and the audio thread
// itself. Created and destroyed off the audio thread (this is where the allocation happens); a
// lost device ends the plan and the monitor builds a new one when the device is back.
// (Named "plan", not "session": OmniCore's Session is the link to the service.)

final class AudioStreamPlan {
    enum Capture {
        case alsa(ALSAPCM)
        case file(FileCaptureSource)
    }

    enum Playback {
        case alsa(ALSAPCM)
        case file(FilePlaybackSink)
    }

    let capture: Capture
    let playback: Playback
    let captureFormat: AudioDeviceFormat
    let playbackFormat: AudioDeviceFormat
    let rt: UnsafeMutablePointer<RTStreamPlan>
    /// The echo reference the audio thread fills (nil: no tap). Made here, where the devices'
    /// rates are known, to hold the time the capture ring holds (`referenceCapacity`).
    let referenceRing: SPSCRing?
    /// `[audio] room` between the file speaker and the file microphone (the audio thread
    /// reaches it unretained through `rt`; this keeps it alive).
    let room: RoomSimulator?
    private var allocations: [UnsafeMutableRawPointer] = []
    private var locked = LockedRegions()
    private(set) var thread: PThread?
    private(set) var realtimePriority: Int?

    struct Parameters {
        var config: OmniConfig.Audio
        var alsaConfigFile: String?
        var pacingSpeed: Double?
        /// Lock the plan's buffers and the audio thread's stack (MemoryLock.swift).
        var lockMemory = false
        var stallTimeoutNanos: Int
        /// The engine's eventfds: the audio thread's wake-ups, and its own.
        var wakeFD: Int32
        var kickFD: Int32
        /// Tap what the speaker is given into an echo reference ring (`referenceRing`).
        var echoReference = false
    }

    /// `sizeRings` is called once the devices' formats are known, before anything is taken
    /// from the rings (the engine fits them to the rates: AudioEngine.sizeRings).
    init(_ p: Parameters, shared: UnsafeMutablePointer<AudioShared>, captureRing: SPSCRing, playbackRing: SPSCRing,
         sizeRings: (_ capture: AudioDeviceFormat, _ playback: AudioDeviceFormat) -> Void) throws {
        let c = p.config
        let captureDevice: Capture
        if let path = FileBackend.path(of: c.capture) {
            captureDevice = .file(try FileCaptureSource(name: c.capture, path: path, periodMs: c.periodMs,
                                                        bufferPeriods: c.bufferPeriods))
        } else {
            let request = DeviceRequest(rate: c.captureRate, periodMs: c.periodMs, bufferPeriods: c.bufferPeriods)
            captureDevice = .alsa(try ALSAPCM.open(name: c.capture, direction: .capture, request: request,
                                                   configFile: p.alsaConfigFile))
        }
        let playbackDevice: Playback
        do {
            if let path = FileBackend.path(of: c.playback) {
                playbackDevice = .file(try FilePlaybackSink(name: c.playback, path: path,
                                                            rate: try Self.filePlaybackRate(c, capture: captureDevice),
                                                            periodMs: c.periodMs))
            } else {
                let request = DeviceRequest(rate: c.playbackRate, periodMs: c.periodMs, bufferPeriods: c.bufferPeriods)
                playbackDevice = .alsa(try ALSAPCM.open(name: c.playback, direction: .playback, request: request,
                                                        configFile: p.alsaConfigFile))
            }
        } catch {
            if case .alsa(let pcm) = captureDevice { pcm.close() }
            throw error
        }
        capture = captureDevice
        playback = playbackDevice

        let cf: AudioDeviceFormat
        let rtCapture: RTCaptureDevice
        switch captureDevice {
        case .alsa(let pcm):
            cf = pcm.format
            rtCapture = .alsa(pcm.handle)
        case .file(let source):
            cf = source.format
            rtCapture = .file(source.state)
        }
        let pf: AudioDeviceFormat
        let rtPlayback: RTPlaybackDevice
        switch playbackDevice {
        case .alsa(let pcm):
            pf = pcm.format
            rtPlayback = .alsa(pcm.handle)
        case .file(let sink):
            pf = sink.format
            rtPlayback = .file(sink.state)
        }
        captureFormat = cf
        playbackFormat = pf
        sizeRings(cf, pf)

        // Every buffer the loop touches, zero-filled so its pages are resident before it runs.
        var allocations: [UnsafeMutableRawPointer] = []
        var sizes: [Int] = []
        func buffer(_ bytes: Int) -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(16, bytes), alignment: 16)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: max(16, bytes))
            allocations.append(p)
            sizes.append(max(16, bytes))
            return p
        }
        let captureRaw = buffer(cf.periodFrames * cf.channels * cf.sampleFormat.bytesPerSample)
        let captureMono = buffer(cf.periodFrames * 2).bindMemory(to: Int16.self, capacity: cf.periodFrames)
        let playbackMono = buffer(pf.periodFrames * 2).bindMemory(to: Int16.self, capacity: pf.periodFrames)
        let playbackRaw = buffer(pf.periodFrames * pf.channels * pf.sampleFormat.bytesPerSample)
        let earcons = buffer(MemoryLayout<EarconSlot>.stride * EarconKind.count)
            .bindMemory(to: EarconSlot.self, capacity: EarconKind.count)
        for kind in EarconKind.allCases {
            var slot = EarconSlot(samples: nil, count: 0)
            // The ready sound is not an earcon: it goes with `ready_sound` (ReadySoundCue).
            if kind == .ready ? c.readySound != .off : c.earcons {
                let samples = Earcon.render(kind, sampleRate: pf.rate, level: c.earconLevel)
                let storage = buffer(samples.count * 2).bindMemory(to: Int16.self, capacity: samples.count)
                samples.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: $0.count) }
                slot = EarconSlot(samples: UnsafePointer(storage), count: samples.count)
            }
            (earcons + kind.rawValue).initialize(to: slot)
        }
        let fadeFrames = max(1, pf.rate / 100)
        // A file speaker is written ahead while the rest of the answer is known (AudioRTLoop+Ahead).
        let writeAhead = FileBackend.path(of: c.playback) != nil ? Self.writeAheadPeriods * pf.periodFrames : 0
        let historyFrames = SPSCRing.powerOfTwo(atLeast: pf.bufferFrames + writeAhead + 2 * pf.periodFrames)
        let tapFrames = writeAhead > 0 ? historyFrames : 1
        let fade = RTFade(history: buffer(historyFrames * 2).bindMemory(to: Int16.self, capacity: historyFrames),
                          historyMask: historyFrames - 1,
                          source: buffer(fadeFrames * 2).bindMemory(to: Int16.self, capacity: fadeFrames),
                          frames: fadeFrames)
        let tapHistory = buffer(tapFrames * 2).bindMemory(to: Int16.self, capacity: tapFrames)
        self.allocations = allocations
        let reference = p.echoReference
            ? SPSCRing(minimumCapacity: Self.referenceCapacity(captureRing: captureRing.capacity, captureRate: cf.rate,
                                                               playbackRate: pf.rate))
            : nil
        referenceRing = reference

        // The room runs on one nominal rate (its drift is its own): the file speaker's rate was
        // set to the microphone's above. Its impulse response file is read here, off the audio thread.
        if let spec = c.room, case .file = captureDevice, case .file = playbackDevice {
            do {
                room = try Self.makeRoom(spec, rate: cf.rate)
            } catch {
                for a in allocations { a.deallocate() }
                throw error
            }
        } else {
            room = nil
        }

        let fileCapture = FileBackend.path(of: c.capture) != nil
        let filePlayback = FileBackend.path(of: c.playback) != nil
        // A file has no clock: pace by the system clock (at the requested speed, else real time).
        let speed = p.pacingSpeed ?? (fileCapture ? 1.0 : 0)
        let periodMs = max(1, c.periodMs)
        rt = .allocate(capacity: 1)
        rt.initialize(to: RTStreamPlan(
            shared: shared, wakeFD: p.wakeFD, kickFD: p.kickFD, captureRing: captureRing.view, playbackRing: playbackRing.view,
            referenceRing: reference?.view, room: room.map { Unmanaged.passUnretained($0) },
            capture: rtCapture, captureFormat: cf.sampleFormat, captureChannels: cf.channels,
            capturePeriod: cf.periodFrames, captureRate: cf.rate,
            playback: rtPlayback, playbackFormat: pf.sampleFormat, playbackChannels: pf.channels,
            playbackPeriod: pf.periodFrames, playbackBuffer: pf.bufferFrames, writeAheadFrames: writeAhead,
            playbackRate: pf.rate,
            captureRaw: captureRaw, captureMono: captureMono, playbackMono: playbackMono, playbackRaw: playbackRaw,
            earcons: earcons, fade: fade, tapHistory: tapHistory, tapHistoryMask: tapFrames - 1,
            prerollFrames: max(0, c.prerollMs) * pf.rate / 1000,
            pacingSpeed: speed,
            virtualPlayback: filePlayback || p.pacingSpeed != nil,
            waitTimeoutMs: Int32(4 * periodMs + 50),
            stallTimeoutNanos: p.stallTimeoutNanos,
            lockStackBytes: p.lockMemory ? Self.audioStackLockBytes : 0))
        if p.lockMemory {
            // The engine already warned if locking is not permitted; a failure here only
            // leaves these pages unlocked.
            for (a, n) in zip(allocations, sizes) { _ = locked.lock(a, bytes: n) }
            _ = locked.lock(rt, bytes: MemoryLayout<RTStreamPlan>.stride)
            if case .file(let source) = captureDevice { source.lockState(&locked) }
            if case .file(let sink) = playbackDevice { sink.lockState(&locked) }
            for r in reference?.memoryRegions ?? [] { _ = locked.lock(r.address, bytes: r.bytes) }
        }
    }

    /// The file speaker's rate: `playback_rate`, else 24 kHz (the answer's own rate); with a
    /// room, the file microphone's rate (the simulated room has one clock).
    static func filePlaybackRate(_ c: OmniConfig.Audio, capture: Capture) throws -> Int {
        guard c.room != nil, case .file(let source) = capture else { return c.playbackRate ?? 24_000 }
        let rate = source.format.rate
        if let asked = c.playbackRate, asked != rate {
            throw AudioDeviceError(device: c.playback, operation: "open the simulated room", code: -EINVAL,
                                   detail: "room needs the speaker at the microphone file's rate (\(rate) Hz); playback_rate is \(asked)")
        }
        return rate
    }

    static func makeRoom(_ spec: RoomSpec, rate: Int) throws -> RoomSimulator {
        var ir: [Float]?
        if let file = spec.irFile {
            do {
                ir = try RoomImpulseResponse.measured(WAV.decode(Files.readRegularFileBytes(file, limit: 64 << 20).get()),
                                                      spec: spec, sampleRate: rate)
            } catch {
                throw AudioDeviceError(device: "room", operation: "read its impulse response", code: -EINVAL, detail: "ir=\(file): \(error)")
            }
        }
        return RoomSimulator(spec: spec, sampleRate: rate, impulseResponse: ir)
    }

    /// Samples of the echo reference ring: at least the time the capture ring holds (the idle
    /// trim keeps both to the same stretch, AudioCaptureSide.swift) at the speaker's rate; the
    /// ring rounds up to a power of two. (It was three times the capture ring's samples, for
    /// any pair of rates, and the capture ring was sized for 48 kHz: 1 MiB, locked. Now 256 KiB
    /// with both devices at 48 kHz, 128 KiB with a 16 kHz microphone and a 24 kHz speaker.)
    static func referenceCapacity(captureRing: Int, captureRate: Int, playbackRate: Int) -> Int {
        (captureRing * max(1, playbackRate) + max(1, captureRate) - 1) / max(1, captureRate)
    }

    /// The audio thread's stack that is touched before its loop starts and locked: its deepest
    /// call chain (an ALSA read or write through plugins) stays well inside it.
    static let audioStackLockBytes = 64 * 1024
    /// Periods a `file:` speaker may be written ahead (AudioRTLoop+Ahead.swift): 500 ms, the
    /// longest the loop then sleeps while an answer plays (its longest coast, AudioRTClock).
    static let writeAheadPeriods = 25

    deinit {
        close()
        locked.unlockAll()
        rt.deinitialize(count: 1)
        rt.deallocate()
        for a in allocations { a.deallocate() }
    }

    /// Starts the audio thread. Returns a warning when real-time priority was refused.
    func start(priority: Int) throws -> String? {
        let started = try PThread.start(PThread.Options(name: "omni-audio", stackBytes: 256 * 1024, realtimePriority: priority),
                                        argument: UnsafeMutableRawPointer(rt)) { raw in
            audioThreadMain(raw!.assumingMemoryBound(to: RTStreamPlan.self))
            return nil
        }
        thread = started
        realtimePriority = started.realtimePriority
        return started.warning
    }

    /// Waits for the audio thread to leave its loop (after `shared.stop` or a loss).
    func join() {
        thread?.join()
        thread = nil
    }

    private var closed = false

    /// Closes both devices (after `join()`).
    func close() {
        guard !closed else { return }
        join()
        closed = true
        switch capture {
        case .alsa(let pcm): pcm.close()
        case .file: break
        }
        switch playback {
        case .alsa(let pcm): pcm.close()
        case .file(let sink): sink.close()
        }
    }
}
