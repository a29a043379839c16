#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
// omni_lws.h includes libwebsockets.h too; with both modules loaded Swift may attribute lws
// declarations to COmniShim, so import it wherever lws symbols are used.
import CWebSocketShim
import OmniCore

// LWSClientEngine, continued: what each lws callback means for the link. Runs on the service
// thread, inside lws_service().

extension LWSClientEngine {
    /// Entry point from lwsClientCallback for every callback of this context.
    func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons,
                _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                _ length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_RAW_RX_FILE:
            // A descriptor watched for the hosting loop (LWSClientEngine+Hosted.swift).
            watchedReadable(wsi)
            return 0
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER, LWS_CALLBACK_CLIENT_ESTABLISHED,
             LWS_CALLBACK_CLIENT_RECEIVE, LWS_CALLBACK_CLIENT_RECEIVE_PONG,
             LWS_CALLBACK_CLIENT_WRITEABLE, LWS_CALLBACK_WS_PEER_INITIATED_CLOSE,
             LWS_CALLBACK_CLIENT_CONNECTION_ERROR, LWS_CALLBACK_CLIENT_CLOSED, LWS_CALLBACK_WSI_DESTROY,
             LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION, LWS_CALLBACK_CLOSED_CLIENT_HTTP:
            let tag = LWSLibrary.tag(of: wsi)
            guard tag != 0, let link, link.attempt == tag else {
                // A dropped or rejected link's wsi on its way out: never let it write again
                // (a WRITEABLE -1 also sends a close frame prepared by reject()). Its data is
                // dropped with 0, never -1: see reject() for why CLIENT_RECEIVE must not fail.
                return reason == LWS_CALLBACK_CLIENT_WRITEABLE ? -1 : 0
            }
            return handle(link, wsi, reason, input, length)
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    private func handle(_ link: Link, _ wsi: OpaquePointer, _ reason: lws_callback_reasons,
                        _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        let generation = link.generation
        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            return appendHeaders(link, wsi, input, length) ? 0 : -1

        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            link.wsi = wsi
            link.open = true
            logger.info("websocket open: \(link.url.host):\(link.url.port)")
            core.emit(.opened, for: generation)
            requestWritableIfNeeded()
            return 0

        case LWS_CALLBACK_CLIENT_RECEIVE:
            return receive(link, wsi, input, length)

        case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
            // Pongs pass between the frames of a dribbled message: not a sign of life then.
            if rejectIfMessageTooSlow(link, wsi) { return 0 }
            core.emit(.pong, for: generation)
            return 0

        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return writeable(link, wsi)

        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            link.peerClose = WebSocketClose.parse(input, length: length)
            return 0  // lws echoes the close frame and then reports CLIENT_CLOSED

        case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
            // Called per certificate in the chain with OpenSSL's verdict in `length`; returning 0
            // keeps that verdict. Noted because lws's own error text for this case is opaque.
            if length == 0 { link.certificateRejected = true }
            return 0

        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let message = LWSLibrary.string(input, length: length)
            let status = Int(lws_http_client_http_response(wsi))
            var failure = LWSFailureClassifier.classify(message: message.isEmpty ? "unknown error" : message,
                                                        httpStatus: status)
            if link.certificateRejected, case .tls = failure {
                failure = .tls("server certificate not trusted (\(message))")
            }
            fail(generation, failure)
            return 0

        case LWS_CALLBACK_CLIENT_CLOSED:
            // Never opened: a failed attempt (the next address may be tried).
            if !link.open {
                fail(generation, .connect(notEstablished(link)))
                return 0
            }
            self.link = nil
            core.endLink(generation)
            if let close = link.closeRequest {
                logger.info("websocket closed by us: \(close.code)")
                core.emit(.closed(code: WebSocketClose.wireCode(close.code), reason: close.reason), for: generation)
            } else if let close = link.peerClose {
                logger.info("websocket closed by server: \(close.code) \(close.reason)")
                core.emit(.closed(code: close.code, reason: close.reason), for: generation)
            } else {
                let why = link.open ? "connection lost" : notEstablished(link)
                logger.warning("websocket: \(why)")
                core.emit(.failed(.connect(why)), for: generation)
            }
            return 0

        case LWS_CALLBACK_CLOSED_CLIENT_HTTP, LWS_CALLBACK_WSI_DESTROY:
            // Still in the HTTP phase (lws reports that close as an HTTP-client close, e.g. when a
            // stage timed out waiting for the upgrade response), or the wsi went away without
            // CONNECTION_ERROR / CLOSED at all.
            fail(generation, .connect(link.open ? "connection lost" : notEstablished(link)))
            return 0

        default:
            return 0
        }
    }

    /// Why a link that never opened ended without lws saying why.
    private func notEstablished(_ link: Link) -> String {
        let elapsed = LWSLibrary.monotonicSeconds() - link.startedAt
        if elapsed >= Double(core.connectTimeoutSeconds) - 0.5 {
            return "timed out after \(Int(elapsed.rounded())) s waiting for \(link.url.host):\(link.url.port)"
        }
        return "connection closed before the WebSocket upgrade completed"
    }

    private func appendHeaders(_ link: Link, _ wsi: OpaquePointer, _ input: UnsafeMutableRawPointer?,
                               _ length: Int) -> Bool {
        // `input` is lws's `unsigned char **p` write cursor; `length` is the room left after it.
        guard let input else { return false }
        let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
        guard let start = cursor.pointee else { return false }
        let end = start + length
        for header in link.request.headers {
            let rc = (header.name + ":").withCString { name in
                header.value.withCString { value in
                    lws_add_http_header_by_name(
                        wsi, UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self),
                        UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self),
                        Int32(header.value.utf8.count), cursor, end)
                }
            }
            if rc != 0 {
                logger.error("websocket: handshake header \(header.name) does not fit")  // never the value
                return false
            }
        }
        return true
    }

    private func receive(_ link: Link, _ wsi: OpaquePointer, _ input: UnsafeMutableRawPointer?,
                         _ length: Int) -> Int32 {
        if link.rx.count + length > link.request.maxMessageBytes {
            link.rx = []
            reject(link, wsi, .protocolError("message too large"), code: 1009, reason: "message too large")
            return 0
        }
        let final = lws_is_final_fragment(wsi) != 0
        // A message lws hands over whole (the usual case) is read straight from its buffer;
        // the pieces of a longer one are collected in `rx` first.
        if final && link.rx.isEmpty {
            return deliver(link, wsi, UnsafeRawBufferPointer(start: length > 0 ? input : nil, count: length))
        }
        if let input, length > 0 {
            link.rx.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
        }
        guard final else {
            if link.messageStartedAt == nil { link.messageStartedAt = LWSLibrary.monotonicSeconds() }
            _ = rejectIfMessageTooSlow(link, wsi)
            return 0
        }
        let message = link.rx
        link.rx.removeAll(keepingCapacity: message.count <= 65_536)
        return message.withUnsafeBytes { deliver(link, wsi, $0) }
    }

    /// A whole received message: text (valid UTF-8, copied once into a String) or binary.
    private func deliver(_ link: Link, _ wsi: OpaquePointer, _ message: UnsafeRawBufferPointer) -> Int32 {
        link.messageStartedAt = nil
        let event: TransportEvent
        if lws_frame_is_binary(wsi) != 0 {
            // Counted and logged (rate-limited) by the session: a flood must not flood the log.
            event = .binary(byteCount: message.count)
        } else if let text = String(validating: message, as: UTF8.self) {
            event = .text(text)
        } else {
            reject(link, wsi, .protocolError("text message is not valid UTF-8"), code: 1007, reason: "invalid UTF-8")
            return 0
        }
        if core.emitReceived(event, bytes: message.count, for: link.generation) { pauseReading(link) }
        return 0
    }

    /// Fails the link when the message being received has taken longer than the request allows
    /// (`ConnectRequest.maxMessageDuration`); true if it did.
    private func rejectIfMessageTooSlow(_ link: Link, _ wsi: OpaquePointer) -> Bool {
        guard let started = link.messageStartedAt else { return false }
        let limit = link.request.maxMessageDuration
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        guard LWSLibrary.monotonicSeconds() - started > seconds else { return false }
        let received = link.rx.count
        link.rx = []
        link.messageStartedAt = nil
        reject(link, wsi, .protocolError("message still incomplete after \(limit) (\(received) bytes so far)"),
               code: 1008, reason: "message too slow")
        return true
    }

    /// The receiver is a window behind: stop reading this socket (TCP then pushes back on the
    /// server) until it catches up (`resumeReadingIfCaughtUp`). Without this a flood is read far
    /// faster than the controller can decode it, and the backlog on the controller's queue grows
    /// without bound and delays everything else there: control socket, timers, the watchdog.
    private func pauseReading(_ link: Link) {
        guard !link.readingPaused, let flow = core.receiveFlow else { return }
        link.readingPaused = true
        // Published before pausing, so a receiver that catches up from here on wakes us.
        flow.paused.store(true, ordering: .releasing)
        updateReading(link)
    }

    /// Fails the link on a bad incoming message and closes it with `code`, from WRITEABLE.
    ///
    /// Why not simply return -1 from CLIENT_RECEIVE (issue 16, ROOT_CAUSE_OVERSIZE.md): lws 4.1's
    /// client parser (lws_ws_client_rx_sm) collects payload into rx_ubuf (rx_buffer_size +
    /// LWS_PRE + 4 bytes) at rx_ubuf[LWS_PRE + rx_ubuf_head++] and calls us when the frame ends or
    /// when `rx_ubuf_head == rx_buffer_size`. A nonzero return skips its `rx_ubuf_head = 0`, and
    /// with a close reason prepared lws keeps the socket for the close handshake and keeps
    /// parsing what the server still sends. After a full 64 KiB chunk the head stays at 65536,
    /// the "buffer full" test (`==`) never matches again, and every further payload byte of the
    /// frame (or of the next one, if that chunk ended its frame) lands past the end of rx_ubuf:
    /// heap corruption (`free(): invalid next size`).
    /// Returning 0 lets lws reset the head; the rest of the message is dropped as stale data.
    private func reject(_ link: Link, _ wsi: OpaquePointer, _ failure: TransportFailure, code: Int,
                        reason: String) {
        fail(link.generation, failure)  // clears self.link: this wsi is stale from here on
        WebSocketClose.prepare(wsi, code: code, reason: reason)
        // Same bound lws puts on its own close send, in case the peer never lets us write.
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5)
        lws_callback_on_writable(wsi)
    }

    /// One frame per WRITEABLE: a pending ping first, then queued messages, then the close frame.
    private func writeable(_ link: Link, _ wsi: OpaquePointer) -> Int32 {
        guard link.open, !link.closeSent else { return 0 }
        if link.pingPending {
            link.pingPending = false
            guard LWSLibrary.write(wsi, frame: &pingFrame, as: LWS_WRITE_PING) else { return -1 }
            requestWritableIfNeeded()
            return 0
        }
        if var next = core.popOutgoing(for: link.generation) {
            guard LWSLibrary.write(wsi, frame: &next.frame, as: LWS_WRITE_TEXT) else { return -1 }
            if next.nowWritable { core.emit(.writable, for: link.generation) }
            requestWritableIfNeeded()
            return 0
        }
        if let close = link.closeRequest {
            link.closeSent = true
            WebSocketClose.prepare(wsi, code: close.code, reason: close.reason)
            return -1  // lws sends the close frame, waits for the echo, then CLIENT_CLOSED
        }
        return 0
    }
}

/// The protocol callback lws calls for every client event; finds the engine via the context's
/// user pointer. A plain function so it converts to a C function pointer.
func lwsClientCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                       _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                       _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else {
        return 0
    }
    let engine = Unmanaged<LWSClientEngine>.fromOpaque(owner).takeUnretainedValue()
    return engine.handle(wsi, reason, user, input, length)
}
