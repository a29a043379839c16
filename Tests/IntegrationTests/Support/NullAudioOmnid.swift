import Foundation

/// The setup of the tests that need only omnid's process and its control socket: a scratch
/// folder with an omni.conf for the virtual board with `null` audio, the environment that points
/// omnid at the repository's board files, and the binary's path.
struct NullAudioOmnid {
    let dir: String
    let socketPath: String
    let configPath: String
    let environment: [String: String]
    let binary: String

    init(_ name: String, url: String, apiKey: String, logLevel: String? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnid-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        socketPath = "\(dir)/ctl.sock"
        configPath = "\(dir)/omni.conf"
        try """
            [service]
            url = "\(url)"
            [board]
            name = "virtual"
            [audio]
            capture = "null"
            playback = "null"
            [control]
            socket = "\(socketPath)"
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["DASHSCOPE_API_KEY"] = apiKey
        env["OMNID_BOARD_DIR"] = Binaries.repoRoot.appendingPathComponent("board").path
        env["OMNID_AUDIO_PACING"] = "clock"
        if let logLevel { env["OMNID_LOG_LEVEL"] = logLevel }
        environment = env
        binary = try Binaries.path("omnid")
    }

    /// `omnid run` with this config.
    func start() throws -> ChildProcess {
        try ChildProcess(binary, ["run", "--config", configPath], environment: environment)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: dir)
    }
}
