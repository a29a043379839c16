import OmniCore
import OmniLinux
import OmniSystem

struct TestAudioCommand {
    static let info = CommandInfo(
        name: "test-audio", abstract: "Record from the configured microphone, print peak and RMS level, and play it back.",
        options: [.init(name: "config", valueName: "path", help: "Configuration file (for the audio devices).",
                        defaultValue: "/etc/omni.conf"),
                  .init(name: "seconds", valueName: "seconds", help: "Seconds to record.", defaultValue: "3")]
    ) { try TestAudioCommand(config: $0.string("config"), seconds: try $0.number("seconds")).run() }

    var config: String
    var seconds: Double

    func run() throws {
        guard seconds > 0 && seconds <= 60 else { throw UsageError("--seconds must be between 0 and 60") }
        let loaded = try loadConfigOrExit(config)
        OmniLogging.bootstrap(level: .warning)
        print("recording \(seconds) s from \(loaded.config.audio.capture), then playing it on \(loaded.config.audio.playback)…")
        print(try AudioSelfTest.run(config: loaded.config.audio, seconds: seconds))
    }
}
