import RealtimeProtocol

// Every `error` event the simulator sends (protocol §8.2). Messages marked [3P]/[D] are the
// service's own; [INF] ones are our wording for cases the sources do not quote.
enum SimError {
    static func invalidRequest(_ message: String, code: String = "", param: String = "") -> ErrorDetail {
        ErrorDetail(type: "invalid_request_error", code: code, message: message, param: param)
    }

    static func invalidValue(_ message: String, param: String) -> ErrorDetail {
        invalidRequest(message, code: "invalid_value", param: param)
    }

    /// [D] verbatim, with the offending list in Python repr as the service prints it.
    static func invalidModalities(_ m: [String], param: String = "session.modalities") -> ErrorDetail {
        invalidValue("Invalid modalities: \(pythonList(m)). Supported combinations are: ['text'] and ['audio', 'text'].",
                     param: param)
    }

    /// [3P]
    static let imageBeforeAudio = invalidRequest("Error append image before append audio.")
    /// [D][3P]
    static let noActiveResponse = invalidRequest("Conversation has none active response")
    /// [3P]
    static let alreadyActive = invalidRequest("Conversation already has an active response")
    /// [INF] the docs say an empty commit is an error but do not quote it.
    static let emptyBuffer = invalidRequest("Input audio buffer is empty.")
    /// [3P] message; type/code [INF] (one third-party fixture has this code). Fatal: the server closes.
    static let idleTimeout = ErrorDetail(
        type: "invalid_request_error", code: "response_idle_timeout",
        message: "Your session was closed because no response was generated for 300 seconds.")

    static func idleTimeout(seconds: Int) -> ErrorDetail {
        var e = idleTimeout
        e.message = "Your session was closed because no response was generated for \(seconds) seconds."
        return e
    }

    /// [INF] the 120-minute cap is documented, its error (if any) is not.
    static func sessionExpired(seconds: Int) -> ErrorDetail {
        let span = seconds % 60 == 0 ? "\(seconds / 60) minutes" : "\(seconds) seconds"
        return ErrorDetail(type: "invalid_request_error", code: "session_expired",
                           message: "Your session has reached the maximum duration of \(span).")
    }

    /// [3P10] the service rejects unknown types; exact text [INF].
    static func unknownEventType(_ t: String) -> ErrorDetail {
        invalidRequest("Invalid event type: '\(t)'.", code: "invalid_event_type", param: "type")
    }

    /// [INF] a frame that is not a JSON object with a string `type`, or a field of the wrong type.
    static func unparsable(_ reason: String) -> ErrorDetail {
        invalidRequest("Failed to parse client event: \(reason)", code: "invalid_json")
    }

    /// [INF]
    static let badAudio = invalidValue("Invalid audio data: expected Base64 of 16-bit PCM.", param: "audio")
    /// [INF] JPEG only, ≤ 256 KB of Base64 (protocol §3.5).
    static let badImage = invalidValue("Invalid image: only Base64 JPEG is supported.", param: "image")
    static func imageTooLarge(limit: Int) -> ErrorDetail {
        invalidValue("Image exceeds the maximum size of \(limit / 1024) KB (Base64).", param: "image")
    }

    /// [3P11] code; message [INF].
    static let cannotUpdateVoice = invalidRequest(
        "Voice cannot be changed after the session has produced audio.", code: "cannot_update_voice",
        param: "session.voice")

    /// Fault injection: DashScope's throttling message [D5] and the internal error third-party
    /// clients report [3P12]; the error types are [INF].
    static let rateLimited = ErrorDetail(type: "rate_limit_error", code: "Throttling.RateQuota",
                                         message: "Requests rate limit exceeded, please try again later.", param: "")
    static let internalError = ErrorDetail(type: "server_error", code: "InternalError",
                                           message: "Internal service error: null", param: "")

    /// `['audio', 'text']`, the way the service (Python) prints a list of strings.
    static func pythonList(_ items: [String]) -> String {
        "[" + items.map { "'\($0)'" }.joined(separator: ", ") + "]"
    }
}
