import CSpeexDSP
import OmniCore

// speexdsp's acoustic echo canceller behind OmniCore's `EchoCancellerCore`: the MDF adaptive
// filter (speex_echo_cancellation) followed by speex's preprocessor, which uses the echo
// state's residual estimate to suppress the echo the linear filter leaves (and, when asked,
// stationary noise too).
//
// Why speexdsp and not webrtc-audio-processing (both in Debian): on simulated rooms both reach
// a similar echo return loss enhancement once aligned (speex 29–41 dB, mean 34; webrtc AEC2
// 26–39 dB, mean 33), but webrtc cut the near-end talker by ~8 dB in double talk where speex
// kept it within a dB, and speexdsp is already linked (the resampler) and is plain C, where
// webrtc's 0.3 API is C++ and would need a C++ shim. Speex's weakness, clock drift between the
// speaker and the microphone, is handled in front of it (EchoPipeline resamples the reference).
// Figures: bench/aec.
//
// 16 kHz mono frames of 10 or 20 ms; a filter of 200–300 ms covers a small room's
// reverberation once the bulk delay is compensated. Both states are allocated at init;
// `cancel` works in place on caller buffers and does not allocate.

public final class SpeexEchoCanceller: EchoCancellerCore {
    public struct Settings: Sendable, Equatable {
        public var sampleRate = 16_000
        public var frameMs = 20
        /// Length of the adaptive filter (the echo tail it can model), ms.
        public var filterMs = 250
        /// The preprocessor's residual echo suppression (on in production; off to see the
        /// linear filter alone).
        public var residualEchoSuppression = true
        /// Most residual echo attenuation while the near end is silent / talking, dB.
        public var echoSuppressDB = -40
        public var echoSuppressActiveDB = -15
        /// Stationary noise suppression, dB of attenuation at most; nil for none.
        public var noiseSuppressionDB: Int?
        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case badSettings(String)
        case initFailed(String)
        public var description: String {
            switch self {
            case .badSettings(let why): "echo canceller settings: \(why)"
            case .initFailed(let what): "speexdsp \(what) could not be created"
            }
        }
    }

    public let settings: Settings
    public let sampleRate: Int
    public let frameSize: Int
    private let echo: OpaquePointer
    private let preprocess: OpaquePointer?

    public init(settings: Settings = Settings()) throws {
        guard [8000, 16_000, 32_000, 48_000].contains(settings.sampleRate) else {
            throw Failure.badSettings("sample rate \(settings.sampleRate) Hz (8, 16, 32 or 48 kHz)")
        }
        guard settings.frameMs == 10 || settings.frameMs == 20 else {
            throw Failure.badSettings("frame of \(settings.frameMs) ms (10 or 20)")
        }
        guard (50...1000).contains(settings.filterMs) else {
            throw Failure.badSettings("filter of \(settings.filterMs) ms (50 to 1000)")
        }
        self.settings = settings
        sampleRate = settings.sampleRate
        frameSize = settings.sampleRate * settings.frameMs / 1000
        let filterLength = settings.sampleRate * settings.filterMs / 1000
        guard let e = speex_echo_state_init(Int32(frameSize), Int32(filterLength)) else {
            throw Failure.initFailed("echo state")
        }
        echo = e
        var rate = Int32(settings.sampleRate)
        speex_echo_ctl(e, SPEEX_ECHO_SET_SAMPLING_RATE, &rate)

        if settings.residualEchoSuppression || settings.noiseSuppressionDB != nil {
            guard let p = speex_preprocess_state_init(Int32(frameSize), Int32(settings.sampleRate)) else {
                speex_echo_state_destroy(e)
                throw Failure.initFailed("preprocessor")
            }
            preprocess = p
            // The preprocessor applies no gain at all with denoise off, residual echo
            // suppression included; so it stays on, and "no noise suppression" is a 0 dB floor.
            var on: Int32 = 1, off: Int32 = 0
            speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_DENOISE, &on)
            speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_AGC, &off)
            speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_DEREVERB, &off)
            var noise = Int32(min(0, settings.noiseSuppressionDB ?? 0))
            speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &noise)
            if settings.residualEchoSuppression {
                var quiet = Int32(settings.echoSuppressDB), active = Int32(settings.echoSuppressActiveDB)
                speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, &quiet)
                speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &active)
                speex_preprocess_ctl(p, SPEEX_PREPROCESS_SET_ECHO_STATE, UnsafeMutableRawPointer(e))
            }
        } else {
            preprocess = nil
        }
    }

    deinit {
        if let preprocess { speex_preprocess_state_destroy(preprocess) }
        speex_echo_state_destroy(echo)
    }

    public func cancel(microphone: UnsafePointer<Int16>, reference: UnsafePointer<Int16>, output: UnsafeMutablePointer<Int16>) {
        speex_echo_cancellation(echo, microphone, reference, output)
        if let preprocess { speex_preprocess_run(preprocess, output) }
    }

    /// Forgets the echo path; the preprocessor's noise estimate is kept (it is still right).
    public func reset() {
        speex_echo_state_reset(echo)
    }
}

extension SpeexEchoCanceller.Settings {
    /// From `[audio]`: the filter length and the noise suppression switch.
    public init(audio: OmniConfig.Audio) {
        self.init()
        filterMs = audio.echoFilterMs
        noiseSuppressionDB = audio.noiseSuppression ? -15 : nil
    }
}

extension EchoPipeline {
    /// The pipeline `[audio]` asks for (filter length, noise suppression); whether one is
    /// wanted at all is `OmniConfig.echoCancelActive`. The delay searched covers both device
    /// buffers twice over (the reference is tapped when written to the playback device, the
    /// echo read a capture buffer later) plus the air.
    public static func make(audio: OmniConfig.Audio) throws -> EchoPipeline {
        var settings = EchoPipeline.Settings()
        settings.maxDelayMs = max(500, 2 * audio.periodMs * audio.bufferPeriods + 250)
        // An echo arrives within both device buffers plus the air and the room's first
        // reflections; the start-up gate waits that long before it takes silence for no echo.
        settings.gate.inaudibleAfterSeconds = Double(2 * audio.periodMs * audio.bufferPeriods + 100) / 1000
        return EchoPipeline(canceller: try SpeexEchoCanceller(settings: SpeexEchoCanceller.Settings(audio: audio)), settings: settings)
    }
}
