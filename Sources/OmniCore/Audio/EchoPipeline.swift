// Echo cancellation around an adaptive canceller: lines the reference (what the speaker was
// sent) up with the microphone before the canceller sees it, so the canceller's filter spends
// its length on the room's reverberation rather than on the devices' buffer delay, and does not
// have to chase clock drift.
//
//   pushReference(…)  what was sent to the speaker, as it is sent (any count, speaker clock)
//   process(…)        one microphone frame in, one echo-cancelled frame out
//
// The two streams only need to start together (index 0 of each at about the same moment);
// the delay between them (device buffers + air, 0 … `maxDelayMs`) is measured here, by
// EchoDelayEstimator on the last second of both, every `analysisIntervalMs` while the speaker
// plays, and the drift by EchoPathTracker from those measurements over time. The aligned
// reference is read from the reference history at a fractional position that advances by the
// measured clock ratio per microphone sample (SincInterpolator), `leadMs` ahead of the direct
// path so the filter also covers a slightly early echo.
//
// A large correction (the first measurement, a moved path) jumps the position and resets the
// canceller, whose filter would otherwise model the old alignment; small ones are left alone or
// steered in slowly (see `steer`). Until the canceller has converged, EchoStartupGate makes the
// path half duplex. `restartStreams()` (the streams started over, the room did not change) keeps
// the canceller's filter and starts at the last delay; only a measurement that disagrees by
// more than `jumpMs` resets it. The canceller itself is behind `EchoCancellerCore`, so this logic is tested here
// without the C library (OmniLinux's SpeexEchoCanceller is the production one).
//
// One owner thread, never the real-time audio thread: `process` runs the analysis inline when
// it is due (three FFTs of ~2 s of audio, a few ms; every 100 ms until aligned, 500 ms for the
// next measurements, then every 2 s, and only while the speaker plays). `pushReference` must
// come before the `process` of the same moment. No allocation after init (EchoAllocationTests).

public protocol EchoCancellerCore: AnyObject {
    var sampleRate: Int { get }
    /// Samples per `cancel` call.
    var frameSize: Int { get }
    /// Removes from `microphone` the echo of `reference` (already aligned: the echo of
    /// reference[i] appears at microphone[i] or later).
    func cancel(microphone: UnsafePointer<Int16>, reference: UnsafePointer<Int16>, output: UnsafeMutablePointer<Int16>)
    /// Forgets the learnt echo path (after the alignment jumped).
    func reset()
}

public struct EchoPipelineStatus: Sendable, Equatable {
    /// The bulk delay being compensated (speaker stream → microphone stream), ms; nil before
    /// the first measurement.
    public var delayMs: Double?
    /// Measured microphone-vs-speaker clock drift, ppm (0 until measured).
    public var driftPPM: Double
    public var measurements: Int
    public var rejectedMeasurements: Int
    /// Times the alignment jumped and the canceller was reset.
    public var jumps: Int
    public var framesProcessed: Int
}

public final class EchoPipeline {
    public struct Settings: Sendable, Equatable {
        /// Longest speaker → microphone delay searched for, ms.
        public var maxDelayMs = 500
        /// Audio correlated per measurement, ms.
        public var analysisWindowMs = 1000
        /// Time between measurements while the speaker plays, ms …
        public var analysisIntervalMs = 500
        /// … once `steadyAfterMeasurements` have been accepted (the path and drift are known;
        /// each measurement costs three FFTs, more than the canceller spends in that time).
        public var steadyAnalysisIntervalMs = 2000
        public var steadyAfterMeasurements = 20
        /// … until the first measurement: sooner, since the canceller waits for it.
        public var firstAnalysisIntervalMs = 100
        /// How far ahead of the direct path the aligned reference runs, ms.
        public var leadMs = 3.0
        /// A correction larger than this jumps (and resets the canceller), ms.
        public var jumpMs = 2.0
        /// Smaller errors are left alone up to this, ms (the lead absorbs them; every
        /// correction moves the echo under the adaptive filter) …
        public var correctionDeadbandMs = 1.0
        /// … and beyond it spread over about this long …
        public var correctionSeconds = 5.0
        /// … at no more than this rate change.
        public var maximumCorrectionPPM = 10.0
        /// Least reference level (RMS over the window, dBFS) worth measuring against.
        public var minimumReferenceDBFS = -55.0
        /// Least GCC-PHAT peak-to-average ratio accepted as a measurement (chance peaks of
        /// unrelated windows reach ~25; a real echo path scores 60–300 with speech).
        public var minimumConfidence = 30.0
        /// Follow measured drift (off: the rate stays 1; only the delay is compensated, with a
        /// jump and a canceller reset whenever drift has moved it by `jumpMs`).
        public var compensateDrift = true
        /// Half duplex until the canceller has converged (EchoStartupGate).
        public var startupGate = true
        public var gate = EchoStartupGate.Settings()
        /// After `restartStreams`, the canceller (and its filter) sits out until the new
        /// streams' delay is measured, so that it does not adapt to a reference that may be off.
        public var holdFilterUntilConfirmed = true
        /// Compensate the bulk delay at all (off: the reference goes to the canceller as it came).
        public var compensateDelay = true
        public var tracker = EchoPathTracker.Settings()
        public init() {}
    }

    public let settings: Settings
    public let canceller: any EchoCancellerCore
    public var frameSize: Int { canceller.frameSize }

    private let rate: Int
    private let reference: SampleHistory
    private let microphone: SampleHistory
    private let estimator: EchoDelayEstimator
    private let interpolator = SincInterpolator()
    private var tracker: EchoPathTracker
    private var gate: EchoStartupGate
    private let alignedFrame: UnsafeMutablePointer<Int16>
    private let referenceWindow: UnsafeMutablePointer<Float>
    private let microphoneWindow: UnsafeMutablePointer<Float>

    /// Microphone samples processed (the next frame's first index).
    private var micIndex = 0
    /// Reference position for the next microphone sample (absolute reference index).
    private var position = 0.0
    private var samplesSinceAnalysis = 0
    private var jumps = 0
    private var aligned = false
    /// The streams restarted with the filter kept; their delay is not measured yet.
    private var unconfirmed = false

    public init(canceller: any EchoCancellerCore, settings: Settings = Settings()) {
        self.settings = settings
        self.canceller = canceller
        rate = canceller.sampleRate
        var trackerSettings = settings.tracker
        trackerSettings.sampleRate = rate
        tracker = EchoPathTracker(settings: trackerSettings)
        gate = EchoStartupGate(settings: settings.gate)
        let window = settings.analysisWindowMs * rate / 1000
        let maxLag = settings.maxDelayMs * rate / 1000
        estimator = EchoDelayEstimator(windowSamples: window, maxLag: maxLag)
        // The analysis window plus the lag range, plus room for drift to pile up (lockstep feeds).
        reference = SampleHistory(capacity: estimator.referenceSamples + 4 * rate)
        microphone = SampleHistory(capacity: window + canceller.frameSize)
        alignedFrame = .allocate(capacity: canceller.frameSize)
        alignedFrame.initialize(repeating: 0, count: canceller.frameSize)
        referenceWindow = .allocate(capacity: estimator.referenceSamples)
        microphoneWindow = .allocate(capacity: window)
        // Until measured: the reference as it came (the echo trails it by 0 … the filter length).
        position = 0
    }

    deinit {
        alignedFrame.deallocate()
        referenceWindow.deallocate()
        microphoneWindow.deallocate()
    }

    /// What was just sent to the speaker, in order, at the canceller's rate.
    public func pushReference(_ samples: UnsafeBufferPointer<Int16>) {
        reference.append(samples)
    }

    /// One microphone frame (`frameSize` samples) → the frame with the echo removed.
    public func process(microphone input: UnsafePointer<Int16>, output: UnsafeMutablePointer<Int16>) {
        let n = canceller.frameSize
        microphone.append(UnsafeBufferPointer(start: input, count: n))
        let step = steer()
        let reach = interpolator.halfTaps
        for i in 0..<n {
            let base = Int(position.rounded(.down))
            let frac = position - Double(base)
            var v: Float = 0
            if frac == 0 {
                v = reference.sample(at: base)
            } else if let p = reference.contiguous(from: base - reach + 1, count: 2 * reach) {
                v = interpolator.value(center: p + (reach - 1), fraction: frac)
            } else {
                // Near the newest sample the look-ahead is missing: the nearest held sample.
                v = reference.sample(at: Int(position.rounded()))
            }
            alignedFrame[i] = PCM.clampToInt16(Double(v))
            position += step
        }
        if unconfirmed && settings.holdFilterUntilConfirmed {
            // The kept filter waits for the new streams' delay (see restartStreams).
            output.update(from: input, count: n)
        } else {
            canceller.cancel(microphone: input, reference: alignedFrame, output: output)
        }
        if settings.startupGate { gate.process(microphone: input, reference: alignedFrame, output: output, count: n, sampleRate: rate) }
        micIndex += n
        samplesSinceAnalysis += n
        let interval = tracker.model == nil ? settings.firstAnalysisIntervalMs
            : tracker.accepted >= settings.steadyAfterMeasurements ? settings.steadyAnalysisIntervalMs : settings.analysisIntervalMs
        if settings.compensateDelay, samplesSinceAnalysis >= interval * rate / 1000 {
            samplesSinceAnalysis = 0
            analyze()
        }
    }

    /// Where the next frame reads, and how fast: jumps when far off, otherwise the measured
    /// clock ratio plus a slow correction. The adaptive filter tolerates an alignment a few
    /// samples off (the lead absorbs it) but not one that moves: speexdsp's filter loses 20 dB
    /// and more while the echo slides by a few samples a second (and still ~20 dB at 20 ppm), so
    /// errors within `correctionDeadbandMs` stay, larger ones are corrected at
    /// `maximumCorrectionPPM` at most, and a re-fitted model never moves the position at once.
    private func steer() -> Double {
        guard settings.compensateDelay, let model = tracker.model else { return 1 }
        if unconfirmed {
            // The new streams' delay is measured: the kept filter goes back to work, and the
            // gate measures it from here (not the frames it sat out).
            unconfirmed = false
            if settings.holdFilterUntilConfirmed { gate.restart(keptFilter: true) }
        }
        let lead = settings.leadMs / 1000 * Double(rate)
        let target = model.speakerPosition(atMicrophone: Double(micIndex)) + lead
        var error = target - position
        if !aligned {
            // The first alignment: what the canceller learnt so far was against the reference
            // as it came, a whole delay off. Whole samples when there is no drift: a static room
            // then gets the reference bit-exact, with no interpolation at all.
            position = model.rate == 1 ? target.rounded() : target
            if micIndex > 0 {
                canceller.reset()
                gate.reset()
            }
            aligned = true
            jumps += 1
            error = target - position
        } else if abs(error) > settings.jumpMs / 1000 * Double(rate) {
            // The streams moved against each other (an xrun, a restart): the room did not, so
            // the filter still fits once the reference is moved by as much — by whole samples
            // without drift, keeping the fraction the filter learnt. The start-up gate checks
            // that it does (a filter that no longer fits is gated until it has re-learnt).
            position += model.rate == 1 ? error.rounded() : error
            gate.restart(keptFilter: true)
            jumps += 1
            error = target - position
        }
        // Delay only: the reference keeps the speaker's clock (until the drift forces a jump).
        guard settings.compensateDrift else { return 1 }
        var step = model.rate
        if abs(error) > settings.correctionDeadbandMs / 1000 * Double(rate) {
            let limit = settings.maximumCorrectionPPM * 1e-6
            step += max(-limit, min(limit, error / (settings.correctionSeconds * Double(rate))))
        }
        return step
    }

    /// Measures the delay on the last window of both streams, if the speaker played enough.
    private func analyze() {
        let w = estimator.windowSamples
        let r = estimator.referenceSamples
        // A stream younger than the window is zero-filled before its start (`copy`).
        reference.copy(from: reference.written - r, count: r, into: referenceWindow)
        microphone.copy(from: microphone.written - w, count: w, into: microphoneWindow)
        // Only when the reference that can have reached the microphone was loud enough.
        var energy = 0.0
        for i in 0..<r { energy += Double(referenceWindow[i]) * Double(referenceWindow[i]) }
        let rms = (energy / Double(r)).squareRoot()
        guard PCM.decibels(rms / 32768) >= settings.minimumReferenceDBFS else { return }
        guard let e = estimator.estimate(reference: referenceWindow, microphone: microphoneWindow),
              e.confidence >= settings.minimumConfidence else { return }
        // The windows' last samples are simultaneous: microphone sample micIndex − 1 carries
        // reference sample reference.written − 1 − lag. Take the windows' middles.
        let m = Double(micIndex - w / 2)
        let s = Double(reference.written - w / 2) - e.lag
        tracker.add(microphone: m, speaker: s)
    }

    public var status: EchoPipelineStatus {
        EchoPipelineStatus(
            delayMs: currentDelay.map { $0 * 1000 / Double(rate) },
            driftPPM: settings.compensateDrift ? tracker.model?.driftPPM ?? 0 : 0,
            measurements: tracker.accepted, rejectedMeasurements: tracker.rejected, jumps: jumps, framesProcessed: micIndex / max(1, frameSize))
    }

    /// The start-up gate's state (phase, measured reduction, far-end sound learnt).
    public var startup: EchoStartupGate.Status { gate.status }

    /// Starts over with a new stream pair (index 0 of each now) through the same room: the
    /// canceller keeps its filter and the reference starts at the last measured delay, so a
    /// filter that still fits goes on cancelling at once (the start-up gate checks it, see
    /// EchoStartupGate.restart); the first measurement on the new streams confirms the delay or
    /// jumps (and resets the canceller). Without a delay measured yet, the same as `reset()`.
    public func restartStreams() {
        guard aligned, let delay = currentDelay else { return reset() }
        knownDelay = delay
        reference.reset()
        microphone.reset()
        tracker.reset()
        tracker.expect(offset: -delay)
        gate.restart(keptFilter: true)
        micIndex = 0
        samplesSinceAnalysis = 0
        position = (settings.leadMs / 1000 * Double(rate) - delay).rounded()
        unconfirmed = true
        restartsKept += 1
    }

    /// Times the streams restarted with the filter kept.
    public private(set) var restartsKept = 0
    /// The delay carried over a restart, samples, until the new streams are measured.
    private var knownDelay: Double?

    /// The bulk delay being compensated, samples (microphone index − speaker index heard).
    private var currentDelay: Double? {
        tracker.model.map { Double(micIndex) - $0.speakerPosition(atMicrophone: Double(micIndex)) } ?? knownDelay
    }

    /// Starts over: a new stream pair (index 0 of each now), nothing learnt.
    public func reset() {
        reference.reset()
        microphone.reset()
        tracker.reset()
        canceller.reset()
        gate.reset()
        micIndex = 0
        samplesSinceAnalysis = 0
        position = 0
        aligned = false
        unconfirmed = false
        knownDelay = nil
    }
}
