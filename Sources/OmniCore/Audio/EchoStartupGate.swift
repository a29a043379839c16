// Half duplex while the canceller learns. speexdsp's filter needs about a second of far-end
// sound before it adapts at full speed and two to three before it removes 20 dB, and until
// then the far end's echo reaches the service — where, with server-side VAD, it can pass for
// the user talking over the answer. This gate covers that start: while the far end plays and
// the canceller's measured echo reduction is short of `targetDB`, the output is attenuated by
// the shortfall (so the echo reaches the service at least `targetDB` down). Once the reduction
// has stayed at or above the target for `sustainSeconds` of far-end sound (or after
// `maximumSeconds`, so that a room the canceller cannot handle does not leave the box half
// duplex for good), the gate opens for good, until the canceller is reset.
//
// The reduction is microphone energy over output energy across the last ~`windowSeconds` of
// far-end sound, near-end speech included: a talker over the answer lowers it and is attenuated
// with the echo. Nothing in the energies tells a near-end talker at the echo's level from an
// echo the unconverged filter has not learnt (measured: bench/aec --startup), so the price of
// the gate is that nobody can talk over the answer until the canceller has converged: the
// first ~2–3 s of speaker sound after a start or a changed echo path — in `vad` mode omnid's
// ready sound (ReadySound) is that sound, before anybody asks anything; this gate remains the
// fallback (someone talking over the ready sound, a room it did not suffice for).
//
// `restart(keptFilter:)` after the streams restarted (an xrun, a device reopen, the microphone
// unmuted) with the canceller's filter kept: the gate closes again (`verifying`), but a filter
// that still fits reaches the target at once, so it attenuates nothing and opens again after
// `sustainSeconds` of far-end sound; a filter that no longer fits is gated like a new one.
// Per frame, no allocation.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct EchoStartupGate: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Reduction (dB) the canceller must reach for the gate to open …
        public var targetDB = 20.0
        /// … while the output is attenuated by its shortfall from this, dB (the service hears
        /// the echo at least this far down until the gate opens).
        public var attenuateToDB = 25.0
        /// Far-end sound for which the reduction must stay at or above the target, s …
        public var sustainSeconds = 0.3
        /// … when verifying a kept filter (it has converged before; this checks that it fits).
        public var verifySeconds = 0.1
        /// The reduction is measured over about this much far-end sound (exponential), s.
        public var windowSeconds = 0.25
        /// Opens anyway after this much far-end sound, s.
        public var maximumSeconds = 6.0
        /// Far-end level (aligned reference, dBFS) below which nothing is gated or measured.
        public var activeDBFS = -50.0
        /// A frame counts towards the measurement only when the microphone is this far above its
        /// quietest recent frames, dB: the echo is there to be measured (before it arrives, or
        /// under a soft start, a suppressor can make any "reduction" out of the noise floor).
        public var echoAboveFloorDB = 10.0
        /// A frame whose microphone stays at its floor while the far end is at least this far
        /// above it, dB, counts towards opening: the echo path itself loses that much (no echo
        /// is heard: headphones, a microphone far from the speaker), so there is nothing to gate.
        public var inaudibleEchoMarginDB = 40.0
        /// … once such frames have gone on for longer than an echo takes to arrive, s (the
        /// devices' buffers and the air: EchoPipeline.make sets it from `[audio]`).
        public var inaudibleAfterSeconds = 0.26
        public init() {}
    }

    public enum Phase: String, Sendable, Equatable {
        /// A new canceller is learning the echo path: gated by the shortfall.
        case converging
        /// The streams restarted with the learnt filter kept: gated until it proves to fit.
        case verifying
        /// The canceller reached the target: open.
        case converged
        /// `maximumSeconds` passed without reaching the target: open anyway.
        case timedOut = "timed-out"
    }

    public struct Status: Sendable, Equatable {
        public var phase: Phase
        /// The reduction measured over the last far-end sound, dB (nil before any).
        public var reductionDB: Double?
        /// Far-end sound the canceller has heard since it was made or reset, ms.
        public var learnedMs: Int
        /// Far-end sound learnt when the gate first opened (since the canceller was made or reset), ms.
        public var openedAtMs: Int?
        /// The output is attenuated right now, dB (0: not).
        public var attenuationDB: Double
    }

    public let settings: Settings
    public private(set) var phase = Phase.converging
    public var open: Bool { phase == .converged || phase == .timedOut }

    private var micEnergy = 0.0
    private var outEnergy = 0.0
    private var measured = false
    /// Far-end activity since the gate last closed, and since the canceller was reset, in samples.
    private var activeSamples = 0
    private var learnedSamples = 0
    private var openedAt: Int?
    /// Far-end activity over which the reduction has stayed at or above the target, samples.
    private var sustained = 0
    /// Loud far end without the microphone hearing anything, in a row, samples.
    private var unheard = 0
    /// Power envelope of the aligned reference, held through the room's reverberation.
    private var envelope = 0.0
    private var gain = 1.0
    private var rate = 16_000
    /// The microphone's quietest recent frame energy per sample (rises 3 dB a second); a
    /// property of the room and the microphone, kept across restarts and resets.
    private var floor = -1.0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// A new canceller (or one reset): nothing learnt.
    public mutating func reset() {
        restart(keptFilter: false)
        learnedSamples = 0
        openedAt = nil
    }

    /// The streams start over; `keptFilter`: the canceller keeps what it learnt.
    public mutating func restart(keptFilter: Bool) {
        // A filter that had not converged yet goes on converging.
        phase = keptFilter && open ? .verifying : keptFilter && phase == .verifying ? .verifying : .converging
        micEnergy = 0
        outEnergy = 0
        measured = false
        activeSamples = 0
        sustained = 0
        unheard = 0
        envelope = 0
        gain = 1
    }

    public var status: Status {
        Status(phase: phase, reductionDB: measured ? reduction : nil, learnedMs: learnedSamples * 1000 / rate,
               openedAtMs: openedAt.map { $0 * 1000 / rate }, attenuationDB: -20 * log10(max(gain, 1e-6)))
    }

    private var reduction: Double { 10 * log10(max(micEnergy, 1) / max(outEnergy, 1)) }

    /// Measures the canceller on this frame and attenuates `output` in place if still needed.
    public mutating func process(microphone: UnsafePointer<Int16>, reference: UnsafePointer<Int16>,
                                 output: UnsafeMutablePointer<Int16>, count: Int, sampleRate: Int) {
        guard count > 0 else { return }
        rate = sampleRate
        var r = 0.0, m = 0.0, o = 0.0
        for i in 0..<count {
            r += Double(reference[i]) * Double(reference[i])
            m += Double(microphone[i]) * Double(microphone[i])
            o += Double(output[i]) * Double(output[i])
        }
        // Decays 60 dB in 300 ms: the echo outlasts the reference by the reverberation.
        let frameSeconds = Double(count) / Double(sampleRate)
        envelope = max(r / Double(count), envelope * pow(10, -6 * frameSeconds / 0.3))
        let threshold = pow(32768 * pow(10, settings.activeDBFS / 20), 2)
        let active = envelope > threshold
        if active { learnedSamples += count }
        let perSample = max(m / Double(count), 1)
        floor = floor < 0 ? perSample : min(perSample, floor * pow(10, 0.3 * frameSeconds))
        guard !open else { return }
        var target = 1.0
        if active {
            activeSamples += count
            let heard = perSample >= floor * pow(10, settings.echoAboveFloorDB / 10)
            if heard {
                let keep = max(0, 1 - frameSeconds / settings.windowSeconds)
                micEnergy = micEnergy * keep + m
                outEnergy = outEnergy * keep + o
                measured = true
            }
            let measuredDB = measured ? reduction : 0
            if heard {
                sustained = measuredDB >= settings.targetDB ? sustained + count : 0
            } else if r / Double(count) >= floor * pow(10, settings.inaudibleEchoMarginDB / 10) {
                // Only once the far end has played that loud for longer than an echo takes to
                // arrive without being heard (not the moments before an echo arrives); then
                // the whole run counts.
                let after = Int(settings.inaudibleAfterSeconds * Double(sampleRate))
                unheard += count
                if unheard >= after { sustained += unheard - after < count ? unheard : count }
            }
            if heard { unheard = 0 }
            let shortfall = settings.attenuateToDB - measuredDB
            let needed = phase == .verifying ? settings.verifySeconds : settings.sustainSeconds
            if Double(sustained) >= needed * Double(sampleRate) {
                phase = .converged
            } else if Double(activeSamples) >= settings.maximumSeconds * Double(sampleRate) {
                phase = .timedOut
            } else if shortfall > 0 {
                target = pow(10, -shortfall / 20)
            }
            if open, openedAt == nil { openedAt = learnedSamples }
        }
        if open { target = 1 }
        // Ramp across the frame so the gain change does not click.
        let start = gain
        for i in 0..<count {
            let g = start + (target - start) * Double(i + 1) / Double(count)
            output[i] = PCM.clampToInt16(Double(output[i]) * g)
        }
        gain = target
    }
}
