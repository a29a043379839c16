import OmniCore
import OmniLinux
import OmniSystem

struct TestAudioCommand {
    static let info = CommandInfo(
        name: "test-audio",
        abstract: "Record from the configured microphone, print peak and RMS level, and play it back. With --echo: "
            + "play a measurement signal while recording, measure the echo path (delay, level, clock drift), run the "
            + "echo canceller on it and print its echo return loss enhancement, a verdict and the omni.conf lines to "
            + "use; exit 1 when the microphone records silence or clips, or does not hear the speaker. With file: "
            + "devices and [audio] room set, the simulated room stands in for the speaker and microphone.",
        options: [.init(name: "config", valueName: "path", help: "Configuration file (for the audio devices).",
                        defaultValue: "/etc/omni.conf"),
                  .init(name: "seconds", valueName: "seconds", help: "Seconds to record (with --echo: of measurement signal, default 10)."),
                  .init(name: "echo", valueName: nil,
                        help: "Check echo cancellation: does the microphone hear the speaker, and is it removed?")]
    ) { a in
        let seconds: Double? = a.values["seconds"] == nil ? nil : try a.number("seconds")
        try TestAudioCommand(config: a.string("config"), seconds: seconds, echo: a.flag("echo")).run()
    }

    var config: String
    var seconds: Double?
    var echo: Bool

    func run() throws {
        let seconds = self.seconds ?? (echo ? 10 : 3)
        guard seconds > 0 && seconds <= 60 else { throw UsageError("--seconds must be between 0 and 60") }
        let loaded = try loadConfigOrExit(config)
        OmniLogging.bootstrap(level: .warning)
        if echo {
            try checkEcho(loaded.config.audio, seconds: seconds)
            return
        }
        print("recording \(seconds) s from \(loaded.config.audio.capture), then playing it on \(loaded.config.audio.playback)…")
        print(try AudioSelfTest.run(config: loaded.config.audio, seconds: seconds))
    }
}

extension TestAudioCommand {
    func checkEcho(_ audio: OmniConfig.Audio, seconds: Double) throws {
        guard seconds >= 4 else { throw UsageError("--echo needs at least 4 seconds for the canceller to converge") }
        let signal = EchoCheck.measurementSignal(seconds: seconds)
        print("echo check: \(seconds) s of measurement signal…")
        let (recorded, source) = try EchoCheck.record(signal, audio: audio)
        print(source)
        let result = try EchoCheck.analyze(played: signal, recorded: recorded, audio: audio)
        print(result)
        if !result.passed { throw ExitCode(1) }
    }
}
