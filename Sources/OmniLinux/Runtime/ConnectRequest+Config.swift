import OmniCore

extension OmniConfig {
    /// The WebSocket request for this config: endpoint + `?model=`, and the Bearer key header.
    public var connectRequest: ConnectRequest {
        let base = service.effectiveURL
        let sep = base.contains("?") ? "&" : "?"
        var headers: [(name: String, value: String)] = [("user-agent", "omnid/\(OmnidVersion.string)")]
        if let key = apiKey { headers.insert(("Authorization", "Bearer \(key.value)"), at: 0) }
        // A message still incomplete after the dead-link time means a link on which nothing
        // arrives, however many pongs or single bytes do.
        return ConnectRequest(url: base + sep + "model=" + service.model, headers: headers, caFile: service.caFile,
                              allowInsecure: service.allowInsecure, maxMessageBytes: service.maxMessageKB * 1024,
                              maxMessageDuration: .milliseconds(service.deadLinkMs))
    }

    public var sessionSettings: SessionSettings {
        var s = SessionSettings()
        s.pingInterval = .milliseconds(service.pingIntervalMs)
        s.deadAfter = .milliseconds(service.deadLinkMs)
        s.logRepeatInterval = .milliseconds(log.repeatIntervalMs)
        s.adoptServiceRules(idleClose: service.idleCloseS > 0 ? .seconds(service.idleCloseS) : nil,
                            sessionCap: service.sessionCapS > 0 ? .seconds(service.sessionCapS) : nil)
        return s
    }
}

public enum OmnidVersion {
    public static let string = "0.1.0"
}
