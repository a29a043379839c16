// [audio] keys of echo cancellation and its test room. Kept out of ConfigLoader.apply, which
// reads the plain keys.

extension ConfigLoader {
    /// Names the `file:` audio backend (OmniLinux's FileBackend.prefix).
    public static let fileDevicePrefix = "file:"

    static func applyEcho(_ a: SectionReader, to audio: inout OmniConfig.Audio) throws(ConfigError) {
        // true/false: what configs written before "auto" say (on/off).
        if let e = a.entry("echo_cancel") {
            if case .bool(let b) = e.value {
                audio.echoCancel = b ? .on : .off
            } else if case .string = e.value, let v = try a.choice("echo_cancel", EchoCancelSetting.self) {
                audio.echoCancel = v
            } else {
                throw a.error("echo_cancel", "must be \"auto\", \"on\" or \"off\", got \(e.value)")
            }
        }
        // 2 s: more than anyone starts speaking ahead of the press; the capture ring holds it.
        if let v = try a.int("lookback_ms", 0...2000) { audio.lookbackMs = v }
        // 100 ms models little more than a dry box; speexdsp's cost grows with the length.
        if let v = try a.int("echo_filter_ms", 100...500) { audio.echoFilterMs = v }
        if let v = try a.bool("noise_suppression") { audio.noiseSuppression = v }
        if let v = try a.choice("ready_sound", ReadySoundSetting.self) { audio.readySound = v }
        if let v = try a.string("room") {
            do {
                audio.room = try RoomSpec.parse(v)
            } catch {
                throw a.error("room", "\(error) (as in \"delay_ms=60,gain_db=-6,rt60_ms=300,noise_db=-60,drift_ppm=0,seed=7\")")
            }
        }
    }

    /// A room simulates the air between a speaker and a microphone that are both files; with a
    /// real device on either side there is real air, and a simulated echo would be added to it.
    static func checkRoom(_ c: OmniConfig, docs: [ConfigDocument], env: ConfigEnvironment) throws(ConfigError) {
        guard let room = c.audio.room else { return }
        let entry = docs.lazy.compactMap { $0.sections["audio"]?["room"] }.first
        for (key, device) in [("capture", c.audio.capture), ("playback", c.audio.playback)]
        where !device.hasPrefix(fileDevicePrefix) {
            throw ConfigError(file: entry?.file ?? docs[0].file, line: entry?.line, key: "audio.room",
                              message: "a simulated room needs the file: backend on both sides, but \(key) is \"\(escaped(device))\"; "
                                + "set \(key) = \"file:PATH.wav\" (the virtual board does) or remove room")
        }
        // The impulse response is decoded when the room is built; here only that it can be read,
        // so check-config catches a wrong path.
        if let ir = room.irFile, case .failure(let e) = env.read(ir, 64 << 20) {
            throw ConfigError(file: entry?.file ?? docs[0].file, line: entry?.line, key: "audio.room",
                              message: "ir: \(escaped(ir)) cannot be read (\(e)); it must be a WAV file holding an impulse response")
        }
    }
}
