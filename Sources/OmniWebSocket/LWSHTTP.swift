import CLibWebSockets
// omni_lws.h includes libwebsockets.h too; with both modules loaded Swift may attribute lws
// declarations to COmniShim, so import it wherever lws symbols are used.
import CWebSocketShim

// Server-side HTTP pieces of the upgrade request: reading the request line and headers out of
// lws's header table, and answering with a plain HTTP status instead of upgrading.

enum LWSHTTP {
    /// One header (or pseudo-token such as WSI_TOKEN_GET_URI) as lws parsed it; multi-line
    /// headers come back comma-joined. nil when absent.
    static func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let copied = buffer.withUnsafeMutableBufferPointer { lws_hdr_copy(wsi, $0.baseAddress, Int32($0.count), token) }
        guard copied >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(copied)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The query string. lws splits it at '&' into fragments (and URL-decodes each); they are
    /// joined back with '&' here.
    static func query(_ wsi: OpaquePointer) -> String {
        var parts: [String] = []
        var index: Int32 = 0
        while true {
            let length = Int(lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index))
            guard length > 0 else { break }
            var buffer = [CChar](repeating: 0, count: length + 1)
            let copied = buffer.withUnsafeMutableBufferPointer {
                lws_hdr_copy_fragment(wsi, $0.baseAddress, Int32($0.count), WSI_TOKEN_HTTP_URI_ARGS, index)
            }
            guard copied >= 0 else { break }
            parts.append(String(decoding: buffer.prefix(Int(copied)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            index += 1
        }
        return parts.joined(separator: "&")
    }

    /// Every request header lws knows by name (lowercased, without the colon). lws 4.1 cannot
    /// enumerate headers outside its token table; those are not included.
    static func headers(_ wsi: OpaquePointer) -> [String: String] {
        var result: [String: String] = [:]
        for raw in 0..<WSI_TOKEN_COUNT.rawValue {
            let token = lws_token_indexes(rawValue: raw)
            guard let namePointer = lws_token_to_string(token) else { continue }
            let name = String(cString: namePointer)
            // Real headers are spelled "name:"; request-line tokens ("get ") and h2 pseudo
            // headers (":path") are not headers.
            guard name.hasSuffix(":"), !name.hasPrefix(":"), let value = header(wsi, token) else { continue }
            result[String(name.dropLast())] = value
        }
        return result
    }

    /// Writes a complete HTTP/1.1 response (status, text/plain body). False if the write failed.
    ///
    /// The head is composed here rather than with lws_add_http_header_status(): during
    /// HTTP_CONFIRM_UPGRADE lws has not yet recorded the request's HTTP version and would answer
    /// "HTTP/1.0", which strict WebSocket clients (Python `websockets`) refuse to parse.
    static func respond(_ wsi: OpaquePointer, status: Int, body: String) -> Bool {
        let bodyBytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
            + "content-type: text/plain; charset=utf-8\r\n"
            + "content-length: \(bodyBytes.count)\r\n"
            + "cache-control: no-store\r\n\r\n"
        var buffer = [UInt8](repeating: 0, count: LWSLibrary.pre)
        buffer += head.utf8
        buffer += bodyBytes
        return LWSLibrary.write(wsi, frame: &buffer, as: LWS_WRITE_HTTP_FINAL)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
