import OmniCore

// Turns what libwebsockets reports for a failed connection attempt into a TransportFailure, so
// the log and the reconnect policy can tell a bad key from a bad certificate from a dead host.
// lws (4.1) only gives a free-text reason in LWS_CALLBACK_CLIENT_CONNECTION_ERROR; the HTTP
// status of a refused upgrade is read separately with lws_http_client_http_response().

enum LWSFailureClassifier {
    /// - Parameters:
    ///   - message: the text lws passed with CLIENT_CONNECTION_ERROR.
    ///   - httpStatus: lws_http_client_http_response() at that moment (0 if no response came).
    static func classify(message: String, httpStatus: Int) -> TransportFailure {
        // Any real HTTP answer other than 101 means the server refused the upgrade; this is how
        // 401/403 (bad API key) reach the controller, whatever wording lws chose.
        if httpStatus >= 100 && httpStatus != 101 { return .httpStatus(httpStatus) }
        let text = message.lowercased()
        if text.contains("ws upgrade unauthorized") { return .httpStatus(401) }
        if text.contains("getaddrinfo") || text.contains("dns") || text.contains("resolve") {
            return .dns(message)
        }
        // "connect SSL err ...", "server's cert didn't look good ...", "Timed out waiting SSL",
        // and the OpenSSL syscall/unknown errors lws reports from SSL_connect().
        if text.contains("ssl") || text.contains("tls") || text.contains("cert") || text.contains("x509")
            || text.hasPrefix("connect syscall") || text.hasPrefix("connect unk") {
            return .tls(message)
        }
        // "HS: ..." = the server answered, but not with a valid WebSocket handshake.
        if text.hasPrefix("hs:") { return .protocolError(message) }
        return .connect(message)
    }
}
