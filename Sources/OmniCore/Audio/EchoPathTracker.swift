// Keeps the map from microphone samples to the speaker samples whose sound they carry,
// s(m) = rate·m + offset, from the delay estimator's measurements over time. The offset is
// the bulk delay; the rate is the clock ratio of the two devices (1 + drift): two USB devices
// differ by tens of ppm, which moves the echo by a sample every few hundred milliseconds — too
// fast for the adaptive filter to follow well, so the reference must be resampled to the
// microphone's clock, and this is where that clock ratio is measured.
//
// A line fitted to recent measurements, not a feedback loop: every measurement is absolute,
// so an error never accumulates. Robust to bad measurements (a point far from the line is
// left out), and to a real change of path (three agreeing points away from the line restart
// the fit: an xrun or a device reopen moves the delay at once). Pure bookkeeping, fixed-size
// storage, no allocation after init.

public struct EchoPathModel: Sendable, Equatable {
    /// Speaker samples per microphone sample (1 + drift).
    public var rate: Double
    /// s(0): the speaker sample heard at microphone sample 0.
    public var offset: Double

    public func speakerPosition(atMicrophone m: Double) -> Double { rate * m + offset }
    /// The microphone's clock relative to the speaker's, parts per million (positive: the
    /// microphone runs fast).
    public var driftPPM: Double { (1 / rate - 1) * 1e6 }
}

public struct EchoPathTracker: Sendable {
    public struct Settings: Sendable, Equatable {
        public var sampleRate = 16_000
        /// A point further than this from the fitted line is an outlier, ms.
        public var outlierMs = 1.5
        /// The slope is fitted once the points span this long, s; before that the rate is 1.
        public var minimumFitSpanSeconds = 3.0
        /// Points older than this are dropped from the fit, s.
        public var fitSpanSeconds = 120.0
        /// A fitted drift smaller than this is taken as none (one clock for both devices), ppm.
        public var driftDeadbandPPM = 1.5
        /// Largest drift believed, ppm (beyond this the devices are not what we think).
        public var maximumDriftPPM = 1000.0
        public init() {}
    }

    public let settings: Settings
    public private(set) var model: EchoPathModel?
    public private(set) var accepted = 0
    public private(set) var rejected = 0
    public private(set) var restarts = 0

    private static let capacity = 256
    private var points: [(m: Double, s: Double)]
    private var count = 0
    private var head = 0
    /// Recent outliers, to tell a moved path from a bad measurement.
    private var outliers: [(m: Double, s: Double)] = []
    /// A first measurement waiting for a second one to agree with it.
    private var candidate: (m: Double, s: Double)?
    /// Scratch for the median, allocated once.
    private var offsets: [Double] = []

    public init(settings: Settings = Settings()) {
        self.settings = settings
        points = Array(repeating: (0, 0), count: Self.capacity)
        outliers.reserveCapacity(4)
        offsets.reserveCapacity(Self.capacity)
    }

    /// A measurement: microphone sample `m` carries the sound of speaker sample `s`.
    public mutating func add(microphone m: Double, speaker s: Double) {
        let tolerance = settings.outlierMs / 1000 * Double(settings.sampleRate)
        if let model, abs(model.speakerPosition(atMicrophone: m) - s) > tolerance {
            rejected += 1
            outliers.append((m, s))
            if outliers.count > 3 { outliers.removeFirst() }
            // Three in a row that agree with each other: the path moved; start over from them.
            if outliers.count == 3 {
                var lo = Double.infinity, hi = -Double.infinity
                for o in outliers { lo = min(lo, o.s - o.m); hi = max(hi, o.s - o.m) }
                if hi - lo <= tolerance {
                    count = 0
                    head = 0
                    restarts += 1
                    for p in outliers { insert(p) }
                    outliers.removeAll(keepingCapacity: true)
                    refit()
                }
            }
            return
        }
        outliers.removeAll(keepingCapacity: true)
        if model == nil {
            // The first path needs two measurements that agree: a lone early one can be a
            // chance peak (the echo has barely begun), and acting on it costs a reset.
            guard let c = candidate, abs((s - m) - (c.s - c.m)) <= tolerance else {
                candidate = (m, s)
                return
            }
            candidate = nil
            accepted += 1
            insert(c)
        }
        accepted += 1
        insert((m, s))
        refit()
    }

    /// After `reset()`: the path is expected at `offset` (s − m, e.g. the last one before the
    /// streams restarted), so a first measurement that agrees with it is enough.
    public mutating func expect(offset: Double) {
        candidate = (0, offset)
    }

    public mutating func reset() {
        count = 0
        head = 0
        model = nil
        candidate = nil
        outliers.removeAll(keepingCapacity: true)
    }

    private mutating func insert(_ p: (m: Double, s: Double)) {
        points[(head + count) % Self.capacity] = p
        if count < Self.capacity { count += 1 } else { head = (head + 1) % Self.capacity }
        // Forget what is older than the fit span.
        let newest = p.m
        let span = settings.fitSpanSeconds * Double(settings.sampleRate)
        while count > 2, newest - points[head].m > span {
            head = (head + 1) % Self.capacity
            count -= 1
        }
    }

    private mutating func refit() {
        guard count > 0 else { model = nil; return }
        var first = Double.infinity, last = -Double.infinity
        for i in 0..<count {
            let m = points[(head + i) % Self.capacity].m
            first = min(first, m)
            last = max(last, m)
        }
        var rate = 1.0
        if last - first >= settings.minimumFitSpanSeconds * Double(settings.sampleRate), count >= 4 {
            // Least squares of (s − m) against m, centred for precision.
            var mm = 0.0, dm = 0.0
            for i in 0..<count {
                let p = points[(head + i) % Self.capacity]
                mm += p.m
                dm += p.s - p.m
            }
            mm /= Double(count)
            dm /= Double(count)
            var sxy = 0.0, sxx = 0.0
            for i in 0..<count {
                let p = points[(head + i) % Self.capacity]
                sxy += (p.m - mm) * (p.s - p.m - dm)
                sxx += (p.m - mm) * (p.m - mm)
            }
            let slope = sxx > 0 ? sxy / sxx : 0
            let limit = settings.maximumDriftPPM * 1e-6
            if abs(slope) * 1e6 >= settings.driftDeadbandPPM { rate = 1 + max(-limit, min(limit, slope)) }
        }
        // Offset: the median of the points' offsets given the rate (robust to one stray point).
        offsets.removeAll(keepingCapacity: true)
        for i in 0..<count {
            let p = points[(head + i) % Self.capacity]
            offsets.append(p.s - rate * p.m)
        }
        // Insertion sort in place: at most 256 values, and Array.sort may allocate a buffer.
        for i in 1..<max(1, offsets.count) {
            let v = offsets[i]
            var j = i - 1
            while j >= 0, offsets[j] > v { offsets[j + 1] = offsets[j]; j -= 1 }
            offsets[j + 1] = v
        }
        let median = count % 2 == 1 ? offsets[count / 2] : (offsets[count / 2 - 1] + offsets[count / 2]) / 2
        model = EchoPathModel(rate: rate, offset: median)
    }
}
