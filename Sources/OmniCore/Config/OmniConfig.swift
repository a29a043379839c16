// The whole appliance configuration as one typed, validated value. Defaults here are what a
// box with an empty /etc/omni.conf does; board files and omni.conf override them.

public enum InteractionMode: String, Sendable, Equatable, CaseIterable {
    case pushToTalk = "push-to-talk"
    case toggle
    case vad
}

/// `[audio] echo_cancel`.
public enum EchoCancelSetting: String, Sendable, Equatable, CaseIterable {
    case auto, on, off
}

/// `[audio] ready_sound`: the sound a new echo canceller learns the room from (ReadySound).
public enum ReadySoundSetting: String, Sendable, Equatable, CaseIterable {
    /// Played when a new canceller starts in hands-free (`vad`) mode with cancellation on.
    case auto
    case off
}

/// What may stop an answer that is being prepared or played (`[session] barge_in`). See
/// ApplianceMachine+BargeIn.swift for what each does in each mode.
public enum BargeInMode: String, Sendable, Equatable, CaseIterable {
    /// The user's voice (`vad` mode: the service hears speech over the answer) and the button.
    case voice
    /// Only the button; in `vad` mode the microphone is not sent while an answer is under way.
    case button
    /// Nothing: the answer plays to its end (the `interrupt` gesture still stops it).
    case off
}

public enum ServiceRegion: String, Sendable, Equatable, CaseIterable {
    case intl, cn

    public var url: String {
        switch self {
        case .intl: "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime"
        case .cn: "wss://dashscope.aliyuncs.com/api-ws/v1/realtime"
        }
    }
}

public enum LogLevelName: String, Sendable, Equatable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// Where the config came from, for messages and `check-config`.
public struct ConfigSources: Sendable, Equatable {
    public var configFile: String?
    public var boardFile: String?
    public var apiKeySource: String?
}

public struct OmniConfig: Sendable, Equatable {
    public struct Service: Sendable, Equatable {
        public var region: ServiceRegion = .intl
        /// Full endpoint; when nil the region's URL is used.
        public var url: String?
        public var model = "qwen3-omni-flash-realtime"
        public var apiKeyFile: String?
        /// Name of a systemd credential (LoadCredential=) holding the key.
        public var apiKeyCredential = "dashscope-api-key"
        /// PEM bundle to trust instead of the system CA store (private servers).
        public var caFile: String?
        /// Allow plain ws:// to a host that is not loopback.
        public var allowInsecure = false
        public var pingIntervalMs = 10_000
        public var deadLinkMs = 25_000
        /// Largest message accepted from the service. Sized from the largest legitimate event:
        /// `session.updated` echoes the instructions (at most 64 KiB, ≤ 6 bytes per character once
        /// JSON-escaped: ≤ 384 KiB), `response.done` carries the whole transcript of an answer of
        /// at most 16,384 tokens (≤ ~400 KiB escaped); audio deltas are ~6.5 KiB (100 ms). 1 MiB
        /// is 2.5× the largest of them; a bigger frame is a broken or hostile server.
        public var maxMessageKB = 1024
        /// The service's rules, as the session plans around them: it closes a session after
        /// this long without a response (0 = it does not) and at this age. Only tests against
        /// omni-sim with shortened timers change them.
        public var idleCloseS = 300
        public var sessionCapS = 7200

        public var effectiveURL: String { url ?? region.url }
    }

    public struct Session: Sendable, Equatable {
        public var voice = "Cherry"
        public var instructions = ""
        public var modalities = ["text", "audio"]
        public var mode: InteractionMode = .pushToTalk
        /// Voice by default: it is what hands-free use needs (talking over a long answer is how
        /// people interrupt), it is what `vad` mode always did, and in the manual modes it is the
        /// same as `button` (the microphone is only sent while the button says so).
        public var bargeIn: BargeInMode = .voice
        public var vadThreshold = 0.5
        public var vadSilenceMs = 800
        public var vadPrefixPaddingMs = 300
        public var transcription = true
    }

    public struct Audio: Sendable, Equatable {
        public var capture = "default"
        public var playback = "default"
        public var periodMs = 20
        public var bufferPeriods = 4
        public var prerollMs = 60
        public var volume = 1.0
        public var earcons = true
        public var earconLevel = 0.3
        public var rtPriority = 70
        public var captureRate: Int?
        public var playbackRate: Int?
        /// A simulated room between the `file:` speaker and microphone (tests, demos, benchmarks).
        public var room: RoomSpec?
        /// Remove the speaker's echo from the microphone (speexdsp, EchoPipeline): `auto` is on
        /// in hands-free (`vad`) mode, where the microphone is open while answers play.
        public var echoCancel: EchoCancelSetting = .auto
        /// Microphone audio from before the press a push-to-talk turn starts with, ms.
        public var lookbackMs = 300
        /// The echo canceller's filter: the reverberation tail it models, ms.
        public var echoFilterMs = 250
        /// Also suppress stationary noise (fans, hum) with the same library.
        public var noiseSuppression = false
        /// The "ready" sound a new echo canceller learns the room from (not an earcon: it
        /// plays with `earcons = false` too, so that the first answer can be talked over).
        public var readySound: ReadySoundSetting = .auto
    }

    public struct Board: Sendable, Equatable {
        public var name: String?
        public var file: String?
        public var description: String?
        /// Raw board sections ([button], [leds], …) that the device layer interprets.
        public var sections: [String: [String: ConfigEntry]] = [:]
    }

    public struct Control: Sendable, Equatable {
        public var socket = "/run/omnid/control.sock"
    }

    public struct Log: Sendable, Equatable {
        public var level: LogLevelName = .info
        /// Warnings that can repeat per frame: at most one line per this interval after the first.
        public var repeatIntervalMs = 10_000
    }

    public var service = Service()
    public var session = Session()
    public var audio = Audio()
    public var board = Board()
    public var control = Control()
    public var log = Log()
    public var camera = Camera()
    /// The API key, never printed: `APIKey.description` is redacted.
    public var apiKey: APIKey?
    public var sources = ConfigSources()

    public init() {}
}

/// The DashScope key. Its descriptions never show it, so it cannot leak into a log line by
/// accident; code that needs it reads `.value` explicitly.
public struct APIKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}


extension OmniConfig {
    /// Whether the microphone can hear the speaker at all: not when it is a `file:` recording
    /// that no simulated `[audio] room` feeds the speaker back into (the virtual board as it
    /// comes). There is then no echo to cancel and nothing for half duplex to mute.
    public var microphoneHearsSpeaker: Bool {
        !(audio.capture.hasPrefix(ConfigLoader.fileDevicePrefix) && audio.room == nil)
    }

    /// Whether echo cancellation runs: `on`, or `auto` in hands-free mode (the microphone is
    /// streamed while the answer plays; push-to-talk only listens while the button is held)
    /// where the microphone can hear the speaker.
    public var echoCancelActive: Bool {
        switch audio.echoCancel {
        case .on: true
        case .off: false
        case .auto: session.mode == .vad && microphoneHearsSpeaker
        }
    }

    /// `[audio]` as the audio engine gets it: the ready sound only where it can play (a new
    /// canceller in hands-free mode, ReadySoundCue). Elsewhere its buffer (2.8 s at the
    /// speaker's rate, 135–270 KB) would stay resident for nothing.
    public var engineAudio: Audio {
        var a = audio
        if !ReadySoundCue(setting: audio.readySound, mode: session.mode, cancelling: echoCancelActive).due {
            a.readySound = .off
        }
        return a
    }
}
