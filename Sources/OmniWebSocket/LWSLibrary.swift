#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CWebSocketShim
import Synchronization

// Process-wide facts about the libwebsockets library that both the client and the server need.

enum LWSLibrary {
    /// Headroom lws_write() needs in front of every payload (LWS_PRE, via the C shim because it
    /// is a function-like macro).
    static let pre: Int = Int(omni_lws_pre())

    /// The system's hashed CA directory (update-ca-certificates keeps its subject-hash links).
    /// The TLS client context looks issuers up there when it verifies, instead of parsing the
    /// whole bundle up front (CWebSocketShim's tls_client.c).
    static let systemCADirectory = "/etc/ssl/certs"

    /// lws_create_context() re-assigns OpenSSL ex-data indexes held in C globals, and context
    /// teardown touches other process-wide state; with a client and a server in one process
    /// (tests, benchmarks) two service threads could do that at once. Creation and destruction
    /// are therefore serialised process-wide. Servicing is not: separate contexts are independent.
    private static let lifecycle = Mutex<Void>(())

    // (Results cross the lock as bit patterns: a raw pointer is not Sendable.)
    static func createContext(_ info: inout lws_context_creation_info) -> OpaquePointer? {
        OpaquePointer(bitPattern: lifecycle.withLock { _ in UInt(bitPattern: Int(bitPattern: lws_create_context(&info))) })
    }

    static func destroyContext(_ context: OpaquePointer) {
        let bits = UInt(bitPattern: Int(bitPattern: context))
        lifecycle.withLock { _ in lws_context_destroy(OpaquePointer(bitPattern: bits)) }
    }

    static func createVhost(_ context: OpaquePointer, _ info: inout lws_context_creation_info) -> OpaquePointer? {
        let bits = UInt(bitPattern: Int(bitPattern: context))
        return OpaquePointer(bitPattern: lifecycle.withLock { _ in
            UInt(bitPattern: Int(bitPattern: lws_create_vhost(OpaquePointer(bitPattern: bits), &info)))
        })
    }

    /// Connection state is keyed by a small integer (client link generation, server connection
    /// id) kept in the wsi's opaque user data, so a stale wsi can never be mistaken for a newer
    /// one that happens to reuse its address.
    static func tag(of wsi: OpaquePointer) -> UInt64 {
        UInt64(UInt(bitPattern: lws_get_opaque_user_data(wsi)))
    }

    static func setTag(_ tag: UInt64, on wsi: OpaquePointer) {
        lws_set_opaque_user_data(wsi, UnsafeMutableRawPointer(bitPattern: UInt(tag)))
    }

    /// Closes a wsi without a close handshake at the next service pass: the timeout path marks
    /// the socket permanently unusable, so lws neither sends a close frame nor waits for one.
    static func killSoon(_ wsi: OpaquePointer) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }

    /// Sends a complete message with lws_write; `frame` carries `pre` bytes of headroom first.
    /// Returns false when lws reports the link unusable.
    static func write(_ wsi: OpaquePointer, frame: inout [UInt8], as kind: lws_write_protocol) -> Bool {
        let payload = frame.count - pre
        let written = frame.withUnsafeMutableBufferPointer { buf in
            lws_write(wsi, buf.baseAddress! + pre, payload, kind)
        }
        return written >= payload
    }

    /// A buffer laid out for lws_write: `pre` spare bytes, then the UTF-8 of `text`.
    static func frame(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { utf8 in
            [UInt8](unsafeUninitializedCapacity: pre + utf8.count) { buf, count in
                buf.baseAddress!.initialize(repeating: 0, count: pre)
                if let src = utf8.baseAddress {
                    (buf.baseAddress! + pre).initialize(from: src, count: utf8.count)
                }
                count = pre + utf8.count
            }
        }
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Text from a C buffer lws handed us: stops at the first NUL (some lws messages include
    /// their terminator in `len`).
    static func string(_ pointer: UnsafeMutableRawPointer?, length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        let end = bytes.firstIndex(of: 0) ?? length
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

/// C strings that must outlive one call (lws keeps pointers to vhost names, ALPN lists, ...).
/// Owned by one service thread and freed together with its context.
final class CStringPool {
    private var owned: [UnsafeMutablePointer<CChar>] = []

    func keep(_ string: String) -> UnsafePointer<CChar> {
        let copy = strdup(string)!
        owned.append(copy)
        return UnsafePointer(copy)
    }

    deinit {
        for pointer in owned { free(pointer) }
    }
}

/// WebSocket close-frame details (RFC 6455 §5.5.1, §7.4).
enum WebSocketClose {
    /// Codes an endpoint may put on the wire; anything else is sent as 1000.
    static func wireCode(_ code: Int) -> Int {
        switch code {
        // 1012–1014 (restart, try again later, bad gateway) are in the IANA registry too.
        case 1000...1003, 1007...1014, 3000...4999: code
        default: 1000
        }
    }

    /// A reason trimmed to the 123 bytes a control frame leaves for it, on a character boundary.
    static func wireReason(_ reason: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for character in reason {
            let utf8 = Array(String(character).utf8)
            if bytes.count + utf8.count > 123 { break }
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }

    /// Parses a received close payload: 2-byte big-endian code + UTF-8 reason; none = 1005.
    static func parse(_ pointer: UnsafeMutableRawPointer?, length: Int) -> (code: Int, reason: String) {
        guard let pointer, length >= 2 else { return (1005, "") }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        let code = Int(bytes[0]) << 8 | Int(bytes[1])
        return (code, String(decoding: bytes[2...], as: UTF8.self))
    }

    /// Stores the close frame lws will send when the callback then returns -1.
    static func prepare(_ wsi: OpaquePointer, code: Int, reason: String) {
        var bytes = wireReason(reason)
        let status = lws_close_status(rawValue: UInt32(wireCode(code)))
        bytes.withUnsafeMutableBufferPointer { buf in
            lws_close_reason(wsi, status, buf.baseAddress, buf.count)
        }
    }
}
