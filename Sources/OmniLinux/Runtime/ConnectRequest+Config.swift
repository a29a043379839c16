import OmniCore

extension OmniConfig {
    /// The WebSocket request for this config: endpoint + `?model=`, and the Bearer key header.
    public var connectRequest: ConnectRequest {
        let base = service.effectiveURL
        let sep = base.contains("?") ? "&" : "?"
        var headers: [(name: String, value: String)] = [("user-agent", "omnid/\(OmnidVersion.string)")]
        if let key = apiKey { headers.insert(("Authorization", "Bearer \(key.value)"), at: 0) }
        return ConnectRequest(url: base + sep + "model=" + service.model, headers: headers, caFile: service.caFile,
                              allowInsecure: service.allowInsecure, maxMessageBytes: service.maxMessageKB * 1024)
    }

    public var sessionSettings: SessionSettings {
        var s = SessionSettings()
        s.pingInterval = .milliseconds(service.pingIntervalMs)
        s.deadAfter = .milliseconds(service.deadLinkMs)
        s.adoptServiceRules(idleClose: service.idleCloseS > 0 ? .seconds(service.idleCloseS) : nil,
                            sessionCap: service.sessionCapS > 0 ? .seconds(service.sessionCapS) : nil)
        return s
    }
}

public enum OmnidVersion {
    public static let string = "0.1.0"
}

public enum ServiceURL {
    /// True for ws(s) URLs whose host is 127.0.0.0/8, ::1 or localhost.
    public static func isLoopback(_ url: String) -> Bool {
        (try? WebSocketURL(parsing: url))?.isLoopback ?? false
    }
}
