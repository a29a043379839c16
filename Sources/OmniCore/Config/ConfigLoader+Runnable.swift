// What `omnid run` needs beyond a well-formed file, checked by `check-config` too so the two
// never disagree (one validation path): the board's button and LED sections, and a key for any
// service that is not on this machine.

extension ConfigLoader {
    public static func checkRunnable(_ loaded: LoadedConfig) throws(ConfigError) {
        let c = loaded.config
        _ = try BoardIOConfig.parse(c.board)
        let url = c.service.effectiveURL
        let local = (try? WebSocketURL(parsing: url))?.isLoopback ?? false
        if c.apiKey == nil && !local {
            throw ConfigError(file: c.sources.configFile ?? "config", line: nil, key: "service.api_key_file",
                              message: "no API key for \(url); set api_key_file, the systemd credential "
                                + "\"\(c.service.apiKeyCredential)\", or DASHSCOPE_API_KEY")
        }
    }
}
