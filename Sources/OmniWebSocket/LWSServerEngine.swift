#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CWebSocketShim
import Logging

// The service-thread half of LWSServer: owns the lws context and listening vhost, applies
// queued sends/closes/resets and turns lws callbacks into the server's handler calls.
// Confined to that thread.

final class LWSServerEngine {
    final class Connection {
        let id: Int
        let wsi: OpaquePointer
        var rx: [UInt8] = []
        /// Reset or closing on our side: nothing more is written.
        var finishing = false
        /// A slow sender's pause between frames: nothing is written before this (monotonic seconds).
        var holdUntil: Double?
        /// A queued reset waiting for what was written to reach the peer, until this at most.
        var resetDeadline: Double?

        init(id: Int, wsi: OpaquePointer) {
            self.id = id
            self.wsi = wsi
        }
    }

    private let core: LWSServerCore
    private let service: LWSServiceThread
    private var logger: Logger { core.logger }
    private var handlers: LWSServer.Handlers { core.handlers }
    private var context: OpaquePointer?
    private var protocols: UnsafeMutablePointer<lws_protocols>?
    private let strings = CStringPool()
    private var connections: [Int: Connection] = [:]
    private var nextID: UInt64 = 1

    init(core: LWSServerCore, service: LWSServiceThread) {
        self.core = core
        self.service = service
    }

    // MARK: loop

    func run(_ started: LWSOneShot<Result<Int, LWSServer.StartError>>) {
        LWSLogging.install(logger)  // here, so that even lws's global logging setup is on this thread
        let port: Int
        switch createContextAndListen() {
        case .success(let bound): port = bound
        case .failure(let error):
            if let context { LWSLibrary.destroyContext(context) }
            omni_lws_protocols_destroy(protocols)
            started.fulfil(.failure(error))
            return
        }
        guard let context else { return }
        core.boundPort.store(port, ordering: .relaxed)
        service.publish(context)
        started.fulfil(.success(port))

        while true {
            let batch = core.takeBatch()
            if batch.stop { break }
            for id in batch.resets { reset(id) }
            for id in batch.dirty {
                if let connection = connections[id], !connection.finishing { lws_callback_on_writable(connection.wsi) }
            }
            lws_service(context, 0)
        }

        service.publish(nil)
        LWSLibrary.destroyContext(context)  // closes every connection; CLOSED reaches onClose
        for id in connections.keys.sorted() { connectionEnded(id) }
        omni_lws_protocols_destroy(protocols)
        core.boundPort.store(0, ordering: .relaxed)
        logger.debug("websocket server thread stopped")
    }

    private func createContextAndListen() -> Result<Int, LWSServer.StartError> {
        let configuration = core.configuration
        protocols = omni_lws_protocols_create("omni-realtime", lwsServerCallback, 65_536)
        guard let protocols else { return .failure(.listen("out of memory")) }

        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        // Bounded fd tables (otherwise sized from RLIMIT_NOFILE); plenty for a simulator.
        info.fd_limit_per_thread = 1024
        info.gid = -1
        info.uid = -1
        context = LWSLibrary.createContext(&info)
        guard let context else { return .failure(.listen("libwebsockets context creation failed")) }

        var vhost = lws_context_creation_info()
        vhost.port = Int32(configuration.port)
        vhost.protocols = UnsafePointer(protocols)
        vhost.vhost_name = strings.keep("omni-server")
        // Long bearer tokens and query strings must fit the header table.
        vhost.max_http_header_data = 8192
        vhost.alpn = strings.keep("http/1.1")
        var options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND
        switch configuration.host {
        case "", "0.0.0.0": options |= LWS_SERVER_OPTION_DISABLE_IPV6
        case "::": break
        case "localhost":
            vhost.iface = strings.keep("127.0.0.1")
            options |= LWS_SERVER_OPTION_DISABLE_IPV6
        case let host:
            vhost.iface = strings.keep(host)
            // An IPv6 socket cannot bind an IPv4 address.
            if !host.contains(":") { options |= LWS_SERVER_OPTION_DISABLE_IPV6 }
        }
        if let cert = configuration.tlsCertificatePath, let key = configuration.tlsPrivateKeyPath {
            options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT
            vhost.ssl_cert_filepath = strings.keep(cert)
            vhost.ssl_private_key_filepath = strings.keep(key)
        } else if configuration.tlsCertificatePath != nil || configuration.tlsPrivateKeyPath != nil {
            return .failure(.listen("TLS needs both a certificate and a private key"))
        }
        vhost.options = UInt64(options)
        guard let created = LWSLibrary.createVhost(context, &vhost) else {
            return .failure(.listen("cannot bind \(configuration.host):\(configuration.port)"))
        }
        return .success(Int(lws_get_vhost_listen_port(created)))
    }

    private func reset(_ id: Int) {
        // Also when a close frame is already out: reset means "drop it now".
        guard let connection = connections[id] else { return }
        connection.finishing = true
        let fd = lws_get_socket_fd(connection.wsi)
        if fd >= 0 {
            // Linger on with a zero timeout: close() then sends RST instead of FIN.
            var option = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        }
        LWSLibrary.killSoon(connection.wsi)
    }

    /// A reset queued after messages: RST once the kernel's send queue is empty (all sent and
    /// acknowledged), or after `resetDeadline`. An RST discards unsent data, and Nagle's algorithm
    /// holds small frames back, so resetting at once lost the tail of what came "before" it.
    private func resetWhenDelivered(_ connection: Connection) {
        let fd = lws_get_socket_fd(connection.wsi)
        var unacknowledged: Int32 = 0
        if fd >= 0 {
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            _ = withUnsafeMutablePointer(to: &unacknowledged) { ioctl(fd, UInt(TIOCOUTQ), $0) }
        }
        if unacknowledged > 0, let deadline = connection.resetDeadline, LWSLibrary.monotonicSeconds() < deadline {
            lws_set_timer_usecs(connection.wsi, 2_000)
            return
        }
        connection.resetDeadline = nil
        reset(connection.id)
    }

    private func connectionEnded(_ id: Int) {
        guard connections.removeValue(forKey: id) != nil else { return }
        core.closed(id)
        handlers.onClose(id)
    }

    // MARK: lws callbacks

    fileprivate func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons,
                            _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                            _ length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return confirmUpgrade(wsi, input)

        case LWS_CALLBACK_HTTP:
            // A plain HTTP request on the WebSocket endpoint.
            guard LWSHTTP.respond(wsi, status: 426, body: "WebSocket upgrade required\n") else { return -1 }
            return lws_http_transaction_completed(wsi) != 0 ? -1 : 0

        case LWS_CALLBACK_ESTABLISHED:
            var id = Int(LWSLibrary.tag(of: wsi))
            if id == 0 {  // upgraded without CONFIRM_UPGRADE (not expected for h1)
                id = Int(nextID)
                nextID += 1
                LWSLibrary.setTag(UInt64(id), on: wsi)
            }
            connections[id] = Connection(id: id, wsi: wsi)
            core.opened(id)
            handlers.onOpen(id)
            return 0

        case LWS_CALLBACK_RECEIVE:
            guard let connection = connections[Int(LWSLibrary.tag(of: wsi))] else { return -1 }
            return receive(connection, input, length)

        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let connection = connections[Int(LWSLibrary.tag(of: wsi))] else { return 0 }
            return writeable(connection)

        case LWS_CALLBACK_TIMER:
            guard let connection = connections[Int(LWSLibrary.tag(of: wsi))] else { return 0 }
            if connection.resetDeadline != nil {
                resetWhenDelivered(connection)
            } else if !connection.finishing {
                // The pause between two frames of a slow message is over.
                connection.holdUntil = nil
                lws_callback_on_writable(wsi)
            }
            return 0

        case LWS_CALLBACK_CLOSED, LWS_CALLBACK_WSI_DESTROY:
            let id = Int(LWSLibrary.tag(of: wsi))
            if let connection = connections[id], connection.wsi == wsi { connectionEnded(id) }
            return 0

        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    private func confirmUpgrade(_ wsi: OpaquePointer, _ input: UnsafeMutableRawPointer?) -> Int32 {
        let upgrade = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
        guard upgrade.lowercased() == "websocket" else { return 0 }
        let id = Int(nextID)
        nextID += 1
        LWSLibrary.setTag(UInt64(id), on: wsi)
        let path = LWSHTTP.header(wsi, WSI_TOKEN_GET_URI) ?? "/"
        let query = LWSHTTP.query(wsi)
        let headers = LWSHTTP.headers(wsi)
        switch handlers.onUpgrade(id, path, query, headers) {
        case .accept:
            return 0
        case .reject(let status, let body):
            logger.info("websocket upgrade \(id) rejected with HTTP \(status)")
            // 1 = "response already written, finish this HTTP transaction" (no upgrade).
            return LWSHTTP.respond(wsi, status: status, body: body) ? 1 : -1
        }
    }

    private func receive(_ connection: Connection, _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        if connection.finishing { return 0 }
        if connection.rx.count + length > core.configuration.maxMessageBytes {
            logger.warning("websocket \(connection.id): message over \(core.configuration.maxMessageBytes) bytes, closing")
            connection.rx = []
            connection.finishing = true
            core.markClosing(connection.id)
            WebSocketClose.prepare(connection.wsi, code: 1009, reason: "message too large")
            // -1 is safe here, unlike in the client (LWSClientEngine.reject, issue 16): lws's
            // server parser resets its rx buffer after every callback and bounds-checks each byte.
            return -1
        }
        if let input, length > 0 {
            connection.rx.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
        }
        guard lws_is_final_fragment(connection.wsi) != 0 else { return 0 }
        let text = String(decoding: connection.rx, as: UTF8.self)
        connection.rx.removeAll(keepingCapacity: connection.rx.count <= 65_536)
        handlers.onText(connection.id, text)
        return 0
    }

    /// One frame per WRITEABLE, in queue order; a queued close ends the connection.
    private func writeable(_ connection: Connection) -> Int32 {
        guard !connection.finishing else { return 0 }
        // Mid-pause (a new message was queued, or lws offered WRITEABLE): the timer resumes.
        if let until = connection.holdUntil, LWSLibrary.monotonicSeconds() < until { return 0 }
        connection.holdUntil = nil
        guard let next = core.pop(connection.id) else { return 0 }
        switch next.item {
        case .frame(var frame):
            guard LWSLibrary.write(connection.wsi, frame: &frame.bytes, as: lws_write_protocol(rawValue: frame.flags))
            else { return -1 }
            if frame.gapAfterMs > 0 {
                connection.holdUntil = LWSLibrary.monotonicSeconds() + Double(frame.gapAfterMs) / 1000
                lws_set_timer_usecs(connection.wsi, lws_usec_t(frame.gapAfterMs) * 1000)
            } else if next.more {
                lws_callback_on_writable(connection.wsi)
            }
            return 0
        case .close(let code, let reason):
            connection.finishing = true
            WebSocketClose.prepare(connection.wsi, code: code, reason: reason)
            return -1
        case .reset:
            connection.finishing = true
            connection.resetDeadline = LWSLibrary.monotonicSeconds() + 1
            resetWhenDelivered(connection)
            return 0
        }
    }
}

/// The protocol callback for every server event; finds the engine via the context's user pointer.
private func lwsServerCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                               _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                               _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else {
        return 0
    }
    let engine = Unmanaged<LWSServerEngine>.fromOpaque(owner).takeUnretainedValue()
    return engine.handle(wsi, reason, user, input, length)
}
