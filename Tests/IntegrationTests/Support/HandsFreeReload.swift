import Foundation

/// The hands-free tests' way to get speech to a session that is already streaming, however long
/// omnid takes to get there: omnid starts in `vad` mode on a silent microphone file
/// (`quiet.wav`), and once it is ready a reload points `[audio] capture` at `mic.wav`, which
/// reopens the devices and so plays the speech from its start.
struct HandsFreeReload {
    let dir: String
    let configPath: String
    let url: String
    /// Sections appended to the config (a `[camera]`).
    let extra: String

    /// Writes `mic.wav` (the quiet a user leaves while the reload's new echo path plays its ready
    /// sound, `speechSeconds` of a 300 Hz tone, silence for the rest of `totalSeconds` after a
    /// second), `quiet.wav` (1 s of silence) and the config on `quiet.wav`.
    init(dir: String, url: String, speechSeconds: Double, totalSeconds: Int, extra: String = "") throws {
        self.dir = dir
        self.url = url
        self.extra = extra
        configPath = "\(dir)/omni.conf"
        let lead = Int(EchoRig.readyLeadSeconds * 16_000)
        var mic = [Int16](repeating: 0, count: lead - 16_000 + 16_000 * totalSeconds)
        let speech = OmnidRig.tone(seconds: 1 + speechSeconds).dropFirst(16_000)
        mic.replaceSubrange(lead..<(lead + speech.count), with: speech)
        try OmnidRig.writeWAV("\(dir)/mic.wav", samples: mic)
        try OmnidRig.writeWAV("\(dir)/quiet.wav", samples: [Int16](repeating: 0, count: 16_000))
        try writeConfig(microphone: "quiet.wav")
    }

    func writeConfig(microphone: String) throws {
        try """
            [service]
            url = "\(url)"
            [session]
            mode = "vad"
            vad_silence_ms = 500
            [board]
            name = "virtual"
            [audio]
            capture = "file:\(dir)/\(microphone)"
            playback = "file:\(dir)/speaker.wav"
            earcons = false
            [control]
            socket = "\(dir)/ctl.sock"
            \(extra)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Once `omnid` streams: the speech file, by reload.
    func switchToSpeech(_ omnid: ChildProcess) throws {
        try writeConfig(microphone: "mic.wav")
        guard omnid.waitFor({ $0.catches(SIGHUP) }) else { throw HandsFreeReloadError.noSIGHUPHandler }
        omnid.signal(SIGHUP)
    }
}

enum HandsFreeReloadError: Error { case noSIGHUPHandler }
