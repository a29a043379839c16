#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import OmniLinux

// The microphone's echo handling on the controller, between the capture ring and the 100 ms
// chunks (docs/echo-cancellation.md): each pump drains the speaker's reference (the engine's
// tap, at 16 kHz) and then the microphone, and the microphone goes through one of
//  - the echo canceller (EchoPipeline around speexdsp), in 20 ms frames (a partial frame waits
//    for the next pump); when echo cancellation is active (`[audio] echo_cancel`); in the
//    button modes followed by the gate below, for the listening earcon (see init);
//  - the half-duplex gate (HalfDuplexGate): muted while the speaker plays plus a tail; when
//    cancellation is off or its pipeline could not be made. In push-to-talk this is what keeps
//    the listening earcon out of the question;
//  - nothing (OMNID_TEST_NO_HALF_DUPLEX=1 with cancellation off: the test that shows the
//    echo does interrupt answers without either).
// It runs whenever the microphone is streamed (in `vad` mode, all the time), never on the
// audio thread (the canceller's analysis takes milliseconds). The two streams must count the
// same time: when the engine reports a discontinuity (xrun, reopen), both start over.

final class DaemonEcho {
    /// Far-end sound after which a canceller that has not measured an echo path gives way to
    /// half duplex (see `selfTest`).
    static let selfTestSeconds = 10

    private(set) var status0: EchoStatus
    private var pipeline: EchoPipeline?
    private let logger: Logger
    private let tailSamples: Int
    private let handsFree: Bool
    /// Loud reference samples since the streams last started.
    private var farEndSamples = 0
    private var gate: HalfDuplexGate?
    private var seenDiscontinuities: Int?
    private var restarts = 0
    private var reference = [Int16](repeating: 0, count: 4096)
    private var microphone = [Int16](repeating: 0, count: 4096)
    /// Microphone samples waiting for a whole canceller frame.
    private var partial: [Int16] = []
    private var frameIn: [Int16] = []
    private var frameOut: [Int16] = []
    /// ERLE estimate: microphone and output energy while the speaker played (smoothed).
    private var playingUntil = 0
    private var referenceIndex = 0
    private var microphoneIndex = 0
    private var micEnergy = 0.0
    private var outEnergy = 0.0
    /// The ready sound this canceller still owes (ReadySoundCue).
    private var readySound: ReadySoundCue

    /// The path `config` asks for; logs once which one runs and why.
    init(config: OmniConfig, logger: Logger, environment: [String: String]) {
        let tailMs = HalfDuplexGate.tailMs(periodMs: config.audio.periodMs, bufferPeriods: config.audio.bufferPeriods)
        self.logger = logger
        tailSamples = tailMs * AudioEngine.captureOutputRate / 1000
        handsFree = config.session.mode == .vad
        var reason: String?
        var made: EchoPipeline?
        // `auto` with a microphone that cannot hear the speaker (OmniConfig.microphoneHearsSpeaker).
        let noEchoPath = handsFree && config.audio.echoCancel == .auto && !config.microphoneHearsSpeaker
        if config.echoCancelActive {
            do {
                made = try EchoPipeline.make(audio: config.audio)
            } catch {
                reason = "the echo canceller could not be made: \(error)"
            }
        } else {
            reason = config.audio.echoCancel == .off ? "echo_cancel = \"off\""
                : "echo_cancel = \"auto\" in \(config.session.mode.rawValue) mode"
        }
        pipeline = made
        readySound = ReadySoundCue(setting: config.audio.readySound, mode: config.session.mode, cancelling: made != nil)
        if let made {
            frameIn = [Int16](repeating: 0, count: made.frameSize)
            frameOut = [Int16](repeating: 0, count: made.frameSize)
            status0 = EchoStatus(path: .cancelling)
            logger.info("echo cancellation on (speexdsp, filter \(config.audio.echoFilterMs) ms)")
            if config.session.mode != .vad {
                // A button turn's microphone is processed only while the button is held, so the
                // canceller never hears the answers and cannot have learnt the room by the time
                // the listening earcon plays at the turn's start (measured: the earcon's echo
                // still correlates 0.75 with the turn). The earcon is cut instead, as without it.
                gate = HalfDuplexGate(tailSamples: tailSamples)
            }
        } else if noEchoPath {
            // A canceller would never measure an echo path here: its self-test would give up
            // after 10 s of answers and mute the microphone under every answer from then on
            // (no voice barge-in on the virtual board, and a warning in a healthy setup).
            let why = "the microphone is a file: recording and [audio] room is not set: it cannot hear the speaker"
            status0 = EchoStatus(path: .none, reason: why)
            logger.info("no echo path (\(why)): nothing to cancel, the microphone stays open while the answer plays")
        } else if environment["OMNID_TEST_NO_HALF_DUPLEX"] == "1" {
            status0 = EchoStatus(path: .none, reason: (reason ?? "") + "; half duplex disabled by OMNID_TEST_NO_HALF_DUPLEX")
            logger.warning("echo cancellation off (\(reason ?? "-")) and half duplex disabled (OMNID_TEST_NO_HALF_DUPLEX=1): the microphone hears the speaker")
        } else {
            gate = HalfDuplexGate(tailSamples: tailSamples)
            status0 = EchoStatus(path: .halfDuplex, reason: reason)
            let why = reason.map { " (\($0))" } ?? ""
            if config.session.mode == .vad {
                logger.notice("echo cancellation off\(why): half duplex, the microphone is muted while the speaker plays and for \(tailMs) ms after")
            } else {
                logger.info("echo cancellation off\(why): the microphone is muted while the speaker plays (earcons) and for \(tailMs) ms after")
            }
        }
    }

    /// The echo handling for a reloaded config and a new audio engine: this one, with what its
    /// canceller has learnt, when the echo path is the same (EchoPathIdentity: only voice,
    /// instructions, volume, earcons or the like changed); a new one otherwise.
    func reloaded(from old: OmniConfig, to config: OmniConfig, environment: [String: String]) -> DaemonEcho {
        guard old.echoPath == config.echoPath, old.session.mode == config.session.mode, pipeline != nil else {
            return DaemonEcho(config: config, logger: logger, environment: environment)
        }
        logger.info("echo path unchanged: the echo canceller keeps what it has learnt")
        seenDiscontinuities = nil
        restart()
        return self
    }

    /// The streams start over now (a turn's start after the engine's discard — the gate reads
    /// the kept reference again —, a discontinuity, a new engine on the same devices): the
    /// canceller keeps its filter (the room has not changed) and re-measures the delay
    /// (EchoPipeline.restartStreams). `keepingMute`: the gate still mutes what the reference it
    /// already read asked for, e.g. the rest of the earcon's echo.
    func restart(keepingMute: Bool = false) {
        pipeline?.restartStreams()
        if keepingMute { gate?.restartKeepingMute() } else { gate?.reset() }
        partial.removeAll(keepingCapacity: true)
        referenceIndex = 0
        microphoneIndex = 0
        playingUntil = 0
        farEndSamples = 0
    }

    /// The canceller's self-test, in hands-free mode: after `selfTestSeconds` of far-end sound
    /// without a single echo path measurement, the reference and the microphone do not match
    /// (another device is playing, the microphone is muted or far away, the reference is not
    /// what reaches the air) and the canceller cannot be trusted to keep the answer's echo from
    /// the service: half duplex from then on, logged once.
    private func selfTest() {
        guard handsFree, let p = pipeline, farEndSamples > Self.selfTestSeconds * AudioEngine.captureOutputRate,
              p.status.measurements == 0 else { return }
        pipeline = nil
        readySound.cancel()
        partial.removeAll(keepingCapacity: true)
        gate = HalfDuplexGate(tailSamples: tailSamples)
        let why = "no echo path measured in \(Self.selfTestSeconds) s of speaker sound"
        status0 = EchoStatus(path: .halfDuplex, reason: why)
        logger.warning("echo cancellation self-test failed (\(why)): half duplex, the microphone is muted while the speaker plays")
    }

    /// Whether to play the ready sound now (once per new canceller, while `streaming`).
    func takeReadySound(streaming: Bool) -> Bool {
        readySound.take(streaming: streaming)
    }

    /// Drains the reference, then the microphone; hands the processed microphone to `sink`.
    func pump(_ audio: AudioEngine, into sink: (UnsafeBufferPointer<Int16>) -> Void) {
        let discontinuities = audio.echoDiscontinuities
        let broken = seenDiscontinuities.map { $0 != discontinuities } ?? false
        seenDiscontinuities = discontinuities
        while true {
            let n = reference.withUnsafeMutableBufferPointer { audio.readReference(into: $0) }
            if n == 0 { break }
            reference.withUnsafeBufferPointer { pushReference(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
        while true {
            let n = microphone.withUnsafeMutableBufferPointer { audio.readCaptured(into: $0) }
            if n == 0 { break }
            microphone.withUnsafeMutableBufferPointer { process(UnsafeMutableBufferPointer(rebasing: $0[0..<n]), into: sink) }
            if n < microphone.count { break }
        }
        // Both rings were just drained to about the same moment: start over from here.
        if broken {
            restarts += 1
            restart(keepingMute: true)
        }
        selfTest()
    }

    private func pushReference(_ samples: UnsafeBufferPointer<Int16>) {
        pipeline?.pushReference(samples)
        gate?.pushReference(samples)
        for i in 0..<samples.count where abs(Int(samples[i])) >= Int(HalfDuplexGate.playingThreshold) {
            playingUntil = referenceIndex + i + AudioEngine.captureOutputRate / 5
            farEndSamples += 1
        }
        referenceIndex += samples.count
    }

    private func process(_ mic: UnsafeMutableBufferPointer<Int16>, into sink: (UnsafeBufferPointer<Int16>) -> Void) {
        guard let pipeline else {
            gate?.process(mic)
            sink(UnsafeBufferPointer(mic))
            return
        }
        partial.append(contentsOf: mic)
        let size = pipeline.frameSize
        var start = 0
        while partial.count - start >= size {
            for i in 0..<size { frameIn[i] = partial[start + i] }
            frameIn.withUnsafeBufferPointer { input in
                frameOut.withUnsafeMutableBufferPointer { output in
                    pipeline.process(microphone: input.baseAddress!, output: output.baseAddress!)
                    gate?.process(output)
                }
            }
            measure()
            frameOut.withUnsafeBufferPointer { sink($0) }
            start += size
        }
        partial.removeFirst(start)
    }

    /// ERLE while only the speaker plays: smoothed microphone vs output energy of frames
    /// within 200 ms of loud reference (near-end speech in them makes it an underestimate).
    private func measure() {
        defer { microphoneIndex += frameIn.count }
        var m = 0.0, o = 0.0
        for i in 0..<frameIn.count {
            m += Double(frameIn[i]) * Double(frameIn[i])
            o += Double(frameOut[i]) * Double(frameOut[i])
        }
        guard microphoneIndex < playingUntil, m > 0 else { return }
        micEnergy = micEnergy * 0.98 + m
        outEnergy = outEnergy * 0.98 + o
    }

    var status: EchoStatus {
        var s = status0
        if let p = pipeline?.status {
            s.delayMs = p.delayMs
            s.driftPPM = p.driftPPM
            s.measurements = p.measurements
            s.jumps = p.jumps
            if micEnergy > 0 { s.erleDB = 10 * log10(micEnergy / max(outEnergy, 1)) }
        }
        if let p = pipeline, p.settings.startupGate {
            s.startup = EchoStatus.Startup(p.startup)
            s.filterKept = p.restartsKept
        }
        s.restarts = restarts
        if let gate {
            s.halfDuplexActive = gate.muting
            s.mutedMs = gate.mutedSamples * 1000 / AudioEngine.captureOutputRate
        }
        return s
    }
}
