import ArgumentParser
import OmniCore
import OmniLinux
import OmniSystem

struct TestAudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-audio",
        abstract: "Record from the configured microphone, print peak and RMS level, and play it back.")

    @Option(name: .long, help: "Configuration file (for the audio devices).")
    var config: String = "/etc/omni.conf"

    @Option(name: .long, help: "Seconds to record.")
    var seconds: Double = 3

    func run() throws {
        let loaded = try loadConfigOrExit(config)
        OmniLogging.bootstrap(level: .warning)
        guard seconds > 0 && seconds <= 60 else { throw ValidationError("--seconds must be between 0 and 60") }
        print("recording \(seconds) s from \(loaded.config.audio.capture), then playing it on \(loaded.config.audio.playback)…")
        print(try AudioSelfTest.run(config: loaded.config.audio, seconds: seconds))
    }
}
