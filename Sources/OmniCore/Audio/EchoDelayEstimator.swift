// Finds how long the speaker's sound takes to come back into the microphone: the lag that
// best lines up a window of microphone samples with the reference (what was sent to the
// speaker), by generalized cross-correlation with phase transform (GCC-PHAT). Whitening the
// cross-spectrum makes the peak of a reverberant, low-pass speech echo as sharp as a click's,
// so the direct path stands out from the reverberation and from the speech's own
// autocorrelation, which a plain correlation smears over milliseconds. The peak is refined to
// a fraction of a sample (parabola through the three highest points), which the drift tracker
// needs: 100 ppm moves the echo by only 1.6 samples a second at 16 kHz.
//
// Heavy (three FFTs of a few seconds of audio): run it off the real-time path. Buffers are
// allocated once; `estimate` does not allocate.

public struct EchoDelayEstimate: Sendable, Equatable {
    /// How many samples the echo in the microphone trails the reference.
    public var lag: Double
    /// Peak height over the mean absolute correlation elsewhere: ~ 3–5 for unrelated signals,
    /// tens for a clear echo path.
    public var confidence: Double
}

public final class EchoDelayEstimator {
    public let windowSamples: Int
    public let maxLag: Int
    private let fft: FFT
    private let refRe, refIm, micRe, micIm: UnsafeMutablePointer<Float>

    /// Correlates `windowSamples` microphone samples against lags 0 … `maxLag`.
    public init(windowSamples: Int, maxLag: Int) {
        precondition(windowSamples > 0 && maxLag > 0)
        self.windowSamples = windowSamples
        self.maxLag = maxLag
        // No circular wrap onto lags 0 … maxLag: see `estimate`.
        fft = FFT(size: FFT.size(atLeast: windowSamples + 2 * maxLag + 2))
        let n = fft.size
        refRe = .allocate(capacity: n); refIm = .allocate(capacity: n)
        micRe = .allocate(capacity: n); micIm = .allocate(capacity: n)
    }

    deinit {
        for p in [refRe, refIm, micRe, micIm] { p.deallocate() }
    }

    /// The reference samples needed: `windowSamples + maxLag`, ending where the microphone
    /// window ends (reference[i] and microphone[i − maxLag] are simultaneous).
    public var referenceSamples: Int { windowSamples + maxLag }

    /// `reference` holds `referenceSamples` samples, `microphone` `windowSamples` samples; the
    /// last sample of each was taken at the same moment. Nil when either is silent.
    public func estimate(reference: UnsafePointer<Float>, microphone: UnsafePointer<Float>) -> EchoDelayEstimate? {
        let n = fft.size
        // Reference at 0 …, microphone at maxLag …: then Σ ref[j]·mic'[j + l] sums
        // mic[t]·ref(t − l), the microphone against the reference l samples earlier.
        refRe.update(from: reference, count: referenceSamples)
        (refRe + referenceSamples).update(repeating: 0, count: n - referenceSamples)
        micRe.update(repeating: 0, count: maxLag)
        (micRe + maxLag).update(from: microphone, count: windowSamples)
        (micRe + maxLag + windowSamples).update(repeating: 0, count: n - maxLag - windowSamples)
        refIm.update(repeating: 0, count: n)
        micIm.update(repeating: 0, count: n)
        // A first difference whitens speech a little before the FFT, so the PHAT weighting
        // below does not have to lift bins many tens of dB down.
        preEmphasize(refRe, count: referenceSamples)
        preEmphasize(micRe + maxLag, count: windowSamples)
        fft.forward(real: refRe, imaginary: refIm)
        fft.forward(real: micRe, imaginary: micIm)

        // conj(R)·M, whitened; bins far below the typical magnitude are left out, not lifted.
        var meanMagnitude: Float = 0
        for k in 0..<n {
            let cr = refRe[k] * micRe[k] + refIm[k] * micIm[k]
            let ci = refRe[k] * micIm[k] - refIm[k] * micRe[k]
            refRe[k] = cr
            refIm[k] = ci
            meanMagnitude += (cr * cr + ci * ci).squareRoot()
        }
        meanMagnitude /= Float(n)
        guard meanMagnitude > 0, meanMagnitude.isFinite else { return nil }
        let floor = meanMagnitude * 1e-3
        for k in 0..<n {
            let m = (refRe[k] * refRe[k] + refIm[k] * refIm[k]).squareRoot()
            let w: Float = m > floor ? 1 / m : 0
            refRe[k] *= w
            refIm[k] *= w
        }
        fft.inverse(real: refRe, imaginary: refIm)

        // Correlation at lag l is refRe[l]: the microphone trails by l.
        var best = 0, bestValue = -Float.infinity
        var sumAbs: Float = 0
        for l in 0...maxLag {
            let v = refRe[l]
            sumAbs += abs(v)
            if v > bestValue { bestValue = v; best = l }
        }
        guard bestValue > 0 else { return nil }
        var lag = Double(best)
        if best > 0, best < maxLag {
            let a = Double(refRe[best - 1]), b = Double(bestValue), c = Double(refRe[best + 1])
            let denominator = a - 2 * b + c
            if denominator < 0 { lag += 0.5 * (a - c) / denominator }
        }
        let others = (Double(sumAbs) - Double(bestValue)) / Double(maxLag)
        return EchoDelayEstimate(lag: lag, confidence: others > 0 ? Double(bestValue) / others : .infinity)
    }

    private func preEmphasize(_ p: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 1 else { return }
        for i in stride(from: count - 1, through: 1, by: -1) { p[i] -= 0.9 * p[i - 1] }
    }
}
