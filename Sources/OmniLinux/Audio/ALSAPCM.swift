#if canImport(Glibc)
import Glibc
#endif
import CALSA
import CALSAShim
import Logging
import OmniCore
import Synchronization

// Opening and configuring one ALSA PCM for the engine (off the audio thread: this allocates).
//
// - Opened by the configured name (`plughw:CARD=Device`, `default`, …) in non-blocking mode;
//   the audio thread waits with snd_pcm_wait() so it can notice stop requests and stalls.
// - SND_PCM_NO_AUTO_RESAMPLE: ALSA's plug layer would otherwise convert rates with its
//   linear-interpolation converter. We ask the device for a rate it really runs at (the
//   configured one, else 48 kHz, else the nearest it has) and convert with speexdsp.
// - Format S16_LE, or S32_LE for codecs/MEMS mics that only do 32-bit; channels: mono when
//   the device can, else the smallest count it accepts (down/up-mixed on the audio thread).
// - Period and buffer from the config (periodMs, bufferPeriods), nearest the device allows.
// - Tests and the demo can name an extra ALSA config file (Options.alsaConfigFile): it is
//   merged over the global configuration and the PCM is opened with snd_pcm_open_lconf, so
//   the process environment and ~/.asoundrc stay untouched.

public enum AudioDirection: String, Sendable, Equatable {
    case capture
    case playback
}

public enum AudioBackendKind: String, Sendable, Equatable {
    case alsa
    case file
}

/// What a device was actually opened with.
public struct AudioDeviceFormat: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var backend: AudioBackendKind
    public var rate: Int
    public var channels: Int
    public var sampleFormat: DeviceSampleFormat
    public var periodFrames: Int
    public var bufferFrames: Int

    public init(name: String, backend: AudioBackendKind, rate: Int, channels: Int, sampleFormat: DeviceSampleFormat,
                periodFrames: Int, bufferFrames: Int) {
        self.name = name
        self.backend = backend
        self.rate = rate
        self.channels = channels
        self.sampleFormat = sampleFormat
        self.periodFrames = periodFrames
        self.bufferFrames = bufferFrames
    }

    public var periodMs: Double { Double(periodFrames) * 1000 / Double(rate) }
    public var bufferMs: Double { Double(bufferFrames) * 1000 / Double(rate) }

    public var description: String {
        "\(name) [\(backend.rawValue)] \(rate) Hz \(channels) ch \(sampleFormat), "
            + "period \(periodFrames) frames (\(oneDecimal(periodMs)) ms), buffer \(bufferFrames) frames (\(oneDecimal(bufferMs)) ms)"
    }
}

public struct AudioDeviceError: Error, Equatable, CustomStringConvertible {
    public var device: String
    public var operation: String
    /// Negative errno as alsa-lib returns it (0 when not an errno).
    public var code: Int32
    public var detail: String

    public init(device: String, operation: String, code: Int32, detail: String? = nil) {
        self.device = device
        self.operation = operation
        self.code = code
        self.detail = detail ?? (code != 0 ? ALSA.errorText(code) : "")
    }

    public var description: String {
        "\(device): \(operation) failed" + (detail.isEmpty ? "" : ": \(detail)")
    }
}

/// `v` with at most one decimal ("20", "21.3").
func oneDecimal(_ v: Double) -> String {
    guard v.isFinite else { return v > 0 ? "inf" : v < 0 ? "-inf" : "nan" }
    let tenths = Int((v * 10).rounded())
    let sign = tenths < 0 ? "-" : ""
    let a = abs(tenths)
    return a % 10 == 0 ? "\(sign)\(a / 10)" : "\(sign)\(a / 10).\(a % 10)"
}

/// What the engine asks of a device.
struct DeviceRequest {
    var rate: Int?
    var preferredRate = 48_000
    var periodMs: Int
    var bufferPeriods: Int
}

enum ALSA {
    static func errorText(_ code: Int32) -> String {
        String(cString: snd_strerror(code))
    }

    /// Routes alsa-lib's own error lines into swift-log once per process (debug level: the
    /// engine reports the failures that matter itself, with context).
    static func routeErrorsOnce() {
        routed.withLock { done in
            guard !done else { return }
            done = true
            omni_alsa_route_errors { err, line in
                guard let line else { return }
                ALSA.libraryLogger.debug("alsa-lib: \(String(cString: line))", metadata: ["err": "\(err)"])
            }
        }
    }

    private static let routed = Mutex(false)
    static let libraryLogger = Logger(label: "omnid.audio.alsa")

    /// The global configuration with `file` loaded over it, for snd_pcm_open_lconf.
    /// The caller owns the result (snd_config_delete).
    static func loadConfig(merging file: String) throws -> OpaquePointer {
        var top: OpaquePointer?
        var err = snd_config_update_ref(&top)
        guard err >= 0, let top else { throw AudioDeviceError(device: file, operation: "snd_config_update_ref", code: err) }
        var copy: OpaquePointer?
        err = snd_config_copy(&copy, top)
        snd_config_unref(top)
        guard err >= 0, let copy else { throw AudioDeviceError(device: file, operation: "snd_config_copy", code: err) }
        var input: OpaquePointer?
        err = snd_input_stdio_open(&input, file, "r")
        guard err >= 0, let input else {
            snd_config_delete(copy)
            throw AudioDeviceError(device: file, operation: "open ALSA config", code: err)
        }
        err = snd_config_load(copy, input)
        snd_input_close(input)
        guard err >= 0 else {
            snd_config_delete(copy)
            throw AudioDeviceError(device: file, operation: "parse ALSA config", code: err)
        }
        return copy
    }
}

/// One open, configured ALSA PCM. Not thread-safe: the engine opens and closes it on its
/// control/monitor side, and only the audio thread does I/O on it in between.
final class ALSAPCM {
    let handle: OpaquePointer
    let direction: AudioDirection
    let format: AudioDeviceFormat
    private var localConfig: OpaquePointer?
    private var closed = false

    private init(handle: OpaquePointer, direction: AudioDirection, format: AudioDeviceFormat, localConfig: OpaquePointer?) {
        self.handle = handle
        self.direction = direction
        self.format = format
        self.localConfig = localConfig
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        snd_pcm_close(handle)
        if let c = localConfig { snd_config_delete(c) }
        localConfig = nil
    }

    static func open(name: String, direction: AudioDirection, request: DeviceRequest, configFile: String?) throws -> ALSAPCM {
        ALSA.routeErrorsOnce()
        let stream = direction == .capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK
        let mode = SND_PCM_NONBLOCK | SND_PCM_NO_AUTO_RESAMPLE
        var pcm: OpaquePointer?
        var lconf: OpaquePointer?
        var err: Int32
        if let configFile {
            lconf = try ALSA.loadConfig(merging: configFile)
            err = snd_pcm_open_lconf(&pcm, name, stream, mode, lconf)
        } else {
            err = snd_pcm_open(&pcm, name, stream, mode)
        }
        guard err >= 0, let pcm else {
            if let lconf { snd_config_delete(lconf) }
            throw AudioDeviceError(device: name, operation: "open \(direction.rawValue)", code: err)
        }
        do {
            let format = try configure(pcm, name: name, direction: direction, request: request)
            return ALSAPCM(handle: pcm, direction: direction, format: format, localConfig: lconf)
        } catch {
            snd_pcm_close(pcm)
            if let lconf { snd_config_delete(lconf) }
            throw error
        }
    }

    private static func configure(_ pcm: OpaquePointer, name: String, direction: AudioDirection,
                                  request: DeviceRequest) throws -> AudioDeviceFormat {
        func check(_ err: Int32, _ op: String) throws {
            if err < 0 { throw AudioDeviceError(device: name, operation: op, code: err) }
        }
        var hwOpt: OpaquePointer?
        try check(snd_pcm_hw_params_malloc(&hwOpt), "snd_pcm_hw_params_malloc")
        guard let hw = hwOpt else { throw AudioDeviceError(device: name, operation: "snd_pcm_hw_params_malloc", code: -ENOMEM) }
        defer { snd_pcm_hw_params_free(hw) }

        try check(snd_pcm_hw_params_any(pcm, hw), "snd_pcm_hw_params_any")
        try check(snd_pcm_hw_params_set_rate_resample(pcm, hw, 0), "disable ALSA resampling")
        try check(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED), "set interleaved access")

        let sampleFormat: DeviceSampleFormat
        if snd_pcm_hw_params_test_format(pcm, hw, SND_PCM_FORMAT_S16_LE) == 0 {
            sampleFormat = .s16
            try check(snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE), "set format S16_LE")
        } else if snd_pcm_hw_params_test_format(pcm, hw, SND_PCM_FORMAT_S32_LE) == 0 {
            sampleFormat = .s32
            try check(snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S32_LE), "set format S32_LE")
        } else {
            throw AudioDeviceError(device: name, operation: "choose sample format", code: -EINVAL,
                                   detail: "device offers neither S16_LE nor S32_LE (use a plughw: name)")
        }

        var channels: UInt32 = 1
        try check(snd_pcm_hw_params_set_channels_near(pcm, hw, &channels), "set channels")

        var rate = UInt32(request.rate ?? request.preferredRate)
        var dir: Int32 = 0
        try check(snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, &dir), "set rate \(rate)")

        let periodMs = max(1, request.periodMs)
        var period = snd_pcm_uframes_t(max(16, Int(rate) * periodMs / 1000))
        dir = 0
        try check(snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir), "set period size")
        var buffer = period * snd_pcm_uframes_t(max(2, request.bufferPeriods))
        try check(snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer), "set buffer size")
        try check(snd_pcm_hw_params(pcm, hw), "snd_pcm_hw_params")

        dir = 0
        try check(snd_pcm_hw_params_get_period_size(hw, &period, &dir), "get period size")
        try check(snd_pcm_hw_params_get_buffer_size(hw, &buffer), "get buffer size")
        try check(snd_pcm_hw_params_get_channels(hw, &channels), "get channels")
        dir = 0
        try check(snd_pcm_hw_params_get_rate(hw, &rate, &dir), "get rate")

        var swOpt: OpaquePointer?
        try check(snd_pcm_sw_params_malloc(&swOpt), "snd_pcm_sw_params_malloc")
        guard let sw = swOpt else { throw AudioDeviceError(device: name, operation: "snd_pcm_sw_params_malloc", code: -ENOMEM) }
        defer { snd_pcm_sw_params_free(sw) }
        try check(snd_pcm_sw_params_current(pcm, sw), "snd_pcm_sw_params_current")
        try check(snd_pcm_sw_params_set_avail_min(pcm, sw, period), "set avail_min")
        if direction == .playback {
            // Start once two periods are queued (or the whole buffer, if it is only two).
            try check(snd_pcm_sw_params_set_start_threshold(pcm, sw, min(buffer, 2 * period)), "set start threshold")
            try check(snd_pcm_sw_params_set_stop_threshold(pcm, sw, buffer), "set stop threshold")
        } else {
            try check(snd_pcm_sw_params_set_start_threshold(pcm, sw, 1), "set start threshold")
        }
        try check(snd_pcm_sw_params(pcm, sw), "snd_pcm_sw_params")

        return AudioDeviceFormat(name: name, backend: .alsa, rate: Int(rate), channels: Int(channels),
                                 sampleFormat: sampleFormat, periodFrames: Int(period), bufferFrames: Int(buffer))
    }
}
