#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
import CWebSocketShim
import Logging
import OmniCore

// The service-thread half of LWSClientTransport: owns the lws context, runs lws_service, applies
// queued commands and turns lws callbacks into TransportEvents. Confined to that thread, so it
// needs no locking of its own; shared state lives in LWSClientCore.

final class LWSClientEngine {
    /// One connection (its name lookup, its attempts at each address) / open WebSocket.
    final class Link {
        let generation: UInt64
        let request: ConnectRequest
        let url: WebSocketURL
        /// The client vhost (TLS configuration) the attempts use.
        let vhost: OpaquePointer
        /// The host's numeric addresses once known (empty while the lookup runs); the attempt in
        /// flight uses `addresses[addressIndex]`.
        var addresses: [String] = []
        var addressIndex = 0
        /// The tag (wsi opaque user data) of the lws attempt in flight; 0 when there is none, so
        /// whatever lws still reports for an earlier attempt is recognisably stale.
        var attempt: UInt64 = 0
        /// An attempt failed and another address is left: the loop starts it (not from inside
        /// the callback that reported the failure).
        var nextAttemptDue = false
        var wsi: OpaquePointer?
        var open = false
        var rx: [UInt8] = []
        var pingPending = false
        var closeRequest: (code: Int, reason: String)?
        var closeSent = false
        var peerClose: (code: Int, reason: String)?
        /// Receive flow control has stopped reading this link.
        var readingPaused = false
        /// What lws was last told (lws_rx_flow_control): the socket is read.
        var reading = true
        /// When the first frame of the message being received arrived (monotonic seconds).
        var messageStartedAt: Double?
        /// OpenSSL rejected the server's certificate chain during this attempt.
        var certificateRejected = false
        /// When the current attempt started (monotonic seconds).
        var startedAt = LWSLibrary.monotonicSeconds()

        init(generation: UInt64, request: ConnectRequest, url: WebSocketURL, vhost: OpaquePointer) {
            self.generation = generation
            self.request = request
            self.url = url
            self.vhost = vhost
        }

        var waitingForLookup: Bool { addresses.isEmpty && attempt == 0 }
    }

    /// The context's per-thread service buffer: what one read of the socket can take.
    static let readBufferBytes: UInt32 = 16_384

    let core: LWSClientCore
    let service: LWSServiceThread
    var logger: Logger { core.logger }
    private(set) var context: OpaquePointer?
    /// Hosted on an EventLoop (LWSClientEngine+Hosted.swift); nil on a thread of its own.
    var hosted: LWSHostedState?
    /// Whether `context` was created with OpenSSL initialised (see `enableTLS`).
    private var contextHasTLS = false
    private(set) var protocols: UnsafeMutablePointer<lws_protocols>?
    /// One client vhost per TLS configuration: "plain" for ws:// (no TLS context at all), else
    /// the CA file ("" = the system store); lws binds the TLS client context to the vhost.
    /// Kept until the context dies, and the TLS contexts (ours, see tls_client.c) after it.
    private var vhosts: [String: OpaquePointer] = [:]
    private var tlsContexts: [UnsafeMutableRawPointer] = []
    let strings = CStringPool()
    var link: Link?
    /// Hosts with a lookup under way: a new link to one of them waits for that answer instead of
    /// starting another thread (a resolver that hangs costs one thread, not one per attempt).
    private var lookups: Set<String> = []
    /// The last attempt tag handed out.
    private var attempts: UInt64 = 0
    var pingFrame = [UInt8](repeating: 0, count: LWSLibrary.pre)
    /// The receiver's hold (LWSClientTransport.holdReceiving), for this link and later ones.
    private var receiveHeld = false
    /// What waits for everything sent so far to be read (LWSClientTransport.afterReceivedAll).
    private var waitingForReceivedAll: [@Sendable () -> Void] = []

    init(core: LWSClientCore, service: LWSServiceThread) {
        self.core = core
        self.service = service
    }

    // MARK: loop

    /// The service thread's loop (on a thread of its own; hosted on an EventLoop, the loop runs
    /// `pass` and lws_service itself: LWSClientEngine+Hosted.swift).
    func run() {
        guard begin() else { return }
        while pass(), let context { lws_service(context, 0) }
        end()
    }

    /// Creates the context; false (the transport marked dead) if it could not.
    func begin() -> Bool {
        LWSLogging.install(logger)  // here, so that even lws's global logging setup is on this thread
        guard createContext(tls: false), let context else {
            core.markDead("libwebsockets context creation failed")
            failQueuedConnects()
            return false
        }
        service.publish(context)
        return true
    }

    /// Before each lws_service: the queued commands, then the link's housekeeping. False once
    /// the transport is shut down (or the context is gone): `end()` comes next.
    func pass() -> Bool {
        let batch = core.takeBatch()
        for command in batch.commands { apply(command, current: batch.generation) }
        if batch.stop { return false }
        if let link, link.generation != batch.generation { dropLink() }
        // (A loop: an attempt that fails at once, a NULL from lws, asks for the next.)
        while let link, link.nextAttemptDue {
            link.nextAttemptDue = false
            attempt(link)
        }
        resumeReadingIfCaughtUp()
        if let link { updateReading(link) }
        runAfterReceivedAll()
        requestWritableIfNeeded()
        return context != nil
    }

    /// Closes the link and destroys the context.
    func end() {
        closeForShutdown()
        dropLink()
        service.publish(nil)
        contextWillEnd()
        if let context = self.context { LWSLibrary.destroyContext(context) }
        context = nil
        for tls in tlsContexts { omni_tls_client_context_free(tls) }
        omni_lws_protocols_destroy(protocols)
        logger.debug("websocket client thread stopped")
    }

    /// The lws context, with OpenSSL initialised only when `tls` (see `enableTLS`).
    private func createContext(tls: Bool) -> Bool {
        if protocols == nil {
            protocols = omni_lws_protocols_create("omni-realtime-client", lwsClientCallback, 65_536)
        }
        guard let protocols else { return false }
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.options = UInt64(LWS_SERVER_OPTION_EXPLICIT_VHOSTS | (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0))
        contextHasTLS = tls
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.timeout_secs = UInt32(core.connectTimeoutSeconds)
        // Without this lws sizes its fd tables from RLIMIT_NOFILE (megabytes on some systems).
        info.fd_limit_per_thread = 32
        // lws reads a socket into this buffer, one read per service pass (4096 by default). An
        // audio delta is about 6.5 KB, so it took two passes of the loop (two polls, two reads);
        // 16 KiB takes a delta, or a whole TLS record, in one. One buffer per context.
        info.pt_serv_buf_size = LWSClientEngine.readBufferBytes
        info.gid = -1
        info.uid = -1
        context = LWSLibrary.createContext(&info)
        return context != nil
    }

    /// The vhost for a link: without TLS for ws://, else with a client TLS context trusting
    /// `caFile` (a private CA replaces the system store rather than adding to it) or the
    /// system's CA directory. nil if the TLS context or the vhost could not be made.
    private func vhost(secure: Bool, caFile: String?) -> OpaquePointer? {
        let key = secure ? (caFile ?? "") : "plain"
        if let existing = vhosts[key] { return existing }
        guard let context else { return nil }
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.vhost_name = strings.keep("client-\(vhosts.count)")
        var tls: UnsafeMutableRawPointer?
        if secure {
            tls = omni_tls_client_context(caFile, LWSLibrary.systemCADirectory)
            guard let tls else { return nil }
            info.provided_client_ssl_ctx = OpaquePointer(tls)
            info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT)
        }
        // lws 4.1 cannot carry a client WebSocket over h2; never let ALPN pick it.
        info.alpn = strings.keep("http/1.1")
        info.connect_timeout_secs = UInt32(core.connectTimeoutSeconds)
        info.timeout_secs = UInt32(core.connectTimeoutSeconds)
        let created = LWSLibrary.createVhost(context, &info)
        if let created {
            vhosts[key] = created
            if let tls { tlsContexts.append(tls) }
        } else if let tls {
            omni_tls_client_context_free(tls)
        }
        return created
    }

    /// The context starts without TLS: initialising OpenSSL (its configuration, providers and
    /// error strings) costs about 3 MiB of resident memory, for nothing on a ws:// link. The
    /// first wss:// link replaces it with one that has TLS, once; there is no link then (a new
    /// connect has just dropped the old one), and what lws still reports for the old context's
    /// sockets carries a stale generation and is ignored.
    private func enableTLS() -> Bool {
        guard !contextHasTLS else { return true }
        service.publish(nil)
        contextWillEnd()
        if let old = context { LWSLibrary.destroyContext(old) }
        context = nil
        vhosts.removeAll()
        guard createContext(tls: true), let context else {
            core.markDead("libwebsockets context creation failed")
            return false
        }
        logger.debug("websocket: TLS initialised")
        service.publish(context)
        contextDidStart()
        return true
    }

    private func failQueuedConnects() {
        for case .connect(_, let generation) in core.takeBatch().commands {
            core.endLink(generation)
            core.emit(.failed(.connect("libwebsockets context creation failed")), for: generation)
        }
    }

    // MARK: commands

    private func apply(_ command: LWSClientCommand, current: UInt64) {
        switch command {
        case .connect(let request, let generation):
            // A later connect/abort already superseded this one.
            guard generation == current else { return }
            dropLink()
            startLink(request, generation: generation)
        case .close(let code, let reason, let generation):
            guard let link, link.generation == generation else { return }
            if link.open {
                link.closeRequest = (code, reason)
            } else {
                dropLink()
                core.endLink(generation)
                core.emit(.closed(code: WebSocketClose.wireCode(code), reason: reason), for: generation)
            }
        case .ping(let generation):
            guard let link, link.generation == generation, link.open else { return }
            link.pingPending = true
        case .abort:
            dropLink()
        case .holdReceiving(let hold):
            receiveHeld = hold
        case .afterReceivedAll(let work):
            receiveHeld = false
            waitingForReceivedAll.append(work)
        case .resolved(let host, let outcome):
            lookups.remove(host)
            // Also the answer for a later link to the same host that waited for this lookup.
            guard let link, link.generation == current, link.url.host == host, link.waitingForLookup else { return }
            switch outcome {
            case .addresses(let addresses):
                link.addresses = addresses
                attempt(link)
            case .failed(let why):
                fail(link.generation, .dns("\(host): \(why)"))
            }
        }
    }

    private func startLink(_ request: ConnectRequest, generation: UInt64) {
        let url: WebSocketURL
        do {
            url = try WebSocketURL(parsing: request.url)
        } catch {
            return fail(generation, .refused("invalid URL: \(error)"))
        }
        if !url.secure && !url.isLoopback && !request.allowInsecure {
            return fail(generation, .refused("plain ws:// to non-loopback host \(url.host); use wss://, or set [service] allow_insecure = true"))
        }
        if let bad = request.headers.first(where: { !Self.isValidHeader($0) }) {
            return fail(generation, .refused("invalid header \(bad.name)"))
        }
        if let caFile = request.caFile, access(caFile, R_OK) != 0 {
            return fail(generation, .tls("CA file \(caFile) is not readable"))
        }
        if url.secure && !enableTLS() {
            return fail(generation, .tls("could not initialise TLS"))
        }
        guard let vhost = vhost(secure: url.secure, caFile: request.caFile) else {
            return fail(generation, .tls("could not set up the TLS client context"))
        }

        let link = Link(generation: generation, request: request, url: url, vhost: vhost)
        self.link = link
        core.receiveFlow?.paused.store(false, ordering: .releasing)  // the previous link may have ended paused
        if let literal = LWSResolver.literal(url.host) {
            link.addresses = [literal]
            attempt(link)
        } else if !lookups.contains(url.host) {
            // Off this thread (LWSResolver says why); the answer comes back as `.resolved`.
            let core = self.core
            let service = self.service
            let host = url.host
            if LWSResolver.resolve(host, with: core.lookUp, done: { outcome in
                if core.deliverResolution(host: host, outcome) { service.wake() }
            }) {
                lookups.insert(host)
            } else {
                fail(generation, .dns("\(host): could not start a resolver thread"))
            }
        }
    }

    /// Hands lws the link's current address. Numeric, so lws looks nothing up; the host name
    /// goes in `host`, from which lws 4.1 takes the Host header, the SNI name and the name the
    /// certificate is verified against (lws_ssl_client_bio_create: CIS_HOST, its port cut off).
    private func attempt(_ link: Link) {
        guard link.addressIndex < link.addresses.count, let context else { return }
        let address = link.addresses[link.addressIndex]
        attempts &+= 1
        let tag = attempts
        link.attempt = tag
        link.wsi = nil
        link.certificateRejected = false
        link.startedAt = LWSLibrary.monotonicSeconds()
        let url = link.url
        let call = CStringPool()
        var info = lws_client_connect_info()
        info.context = context
        info.vhost = link.vhost
        info.address = call.keep(address)
        info.port = Int32(url.port)
        info.path = call.keep(url.pathAndQuery)
        info.host = call.keep(url.hostHeader)
        info.alpn = call.keep("http/1.1")
        info.ietf_version_or_minus_one = -1
        // No redirects: following one would hand the Authorization header to another origin.
        var flags = LCCSCF_HTTP_NO_FOLLOW_REDIRECT.rawValue
        if url.secure { flags |= LCCSCF_USE_SSL.rawValue }
        info.ssl_connection = Int32(flags)
        info.opaque_user_data = UnsafeMutableRawPointer(bitPattern: UInt(tag))
        // (no subprotocol: the service, like its official SDK, uses none)
        let wsi = lws_client_connect_via_info(&info)
        guard self.link === link, link.attempt == tag else { return }  // already failed through a callback
        if let wsi {
            link.wsi = wsi
        } else {
            fail(link.generation, .connect("could not connect to \(url.host) (\(address)) port \(url.port)"))
        }
    }

    private static func isValidHeader(_ header: (name: String, value: String)) -> Bool {
        !header.name.isEmpty
            && !header.name.contains(where: { $0 == ":" || $0 == " " || $0.isNewline })
            && !header.value.contains(where: { $0.isNewline })
    }

    /// Forgets the current link and has lws drop its socket without a close handshake; the
    /// callbacks that follow carry a stale attempt tag and are ignored.
    private func dropLink() {
        guard let link else { return }
        self.link = nil
        if let wsi = link.wsi { LWSLibrary.killSoon(wsi) }
    }

    /// Every pass of the loop (a receiver that catches up wakes it): reading resumes once the
    /// receiver is down to half the window. Checked here too, not only on its wake-up, because
    /// it may have caught up between the pause and `readingPaused` being published.
    private func resumeReadingIfCaughtUp() {
        guard let link, link.readingPaused, let flow = core.receiveFlow, flow.caughtUp else { return }
        link.readingPaused = false
        flow.paused.store(false, ordering: .releasing)
    }

    /// Tells lws whether to read the link: not while the receive window is full or the
    /// receiver holds reading. Every pass (a hold, its end or a new link shows here), and at
    /// once when the window fills inside a receive callback.
    func updateReading(_ link: Link) {
        guard link.open, let wsi = link.wsi else { return }
        let read = !link.readingPaused && !receiveHeld
        guard read != link.reading else { return }
        link.reading = read
        lws_rx_flow_control(wsi, read ? 1 : 0)
    }

    /// Every pass: what waits for everything sent so far to be read runs once nothing is left
    /// unread: no byte waiting in the socket, nothing lws keeps for a forced service (TLS
    /// records, a buffered rest). Otherwise the coming lws_service reads on (the socket is
    /// readable, so it does not sleep) and the next pass looks again. A link that cannot be
    /// read now (none, not open, its receive window full) has nothing more to give.
    private func runAfterReceivedAll() {
        guard !waitingForReceivedAll.isEmpty else { return }
        if let link, link.open, !link.readingPaused, let wsi = link.wsi, let context {
            var byte: UInt8 = 0
            if recv(lws_get_socket_fd(wsi), &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0 { return }
            if lws_service_adjust_timeout(context, 1, 0) == 0 { return }
        }
        let works = waitingForReceivedAll
        waitingForReceivedAll.removeAll()
        for work in works { work() }
    }

    /// Ends the link with a failure event (and no further events for it); or, when the link
    /// never opened, the failure is a connection's (refused, unreachable, timed out) and the host
    /// has another address, tries that one next, as lws does with the addresses it resolves.
    func fail(_ generation: UInt64, _ failure: TransportFailure) {
        if let link, link.generation == generation, !link.open, case .connect(let why) = failure,
           link.addressIndex + 1 < link.addresses.count {
            logger.info("websocket: \(link.addresses[link.addressIndex]) failed (\(why)); trying \(link.addresses[link.addressIndex + 1])")
            link.addressIndex += 1
            link.attempt = 0  // what lws still reports for the failed attempt is stale from here on
            link.wsi = nil
            link.nextAttemptDue = true
            return
        }
        if link?.generation == generation { link = nil }
        logger.warning("websocket: \(failure)")
        core.endLink(generation)
        core.emit(.failed(failure), for: generation)
    }

    func requestWritableIfNeeded() {
        guard let link, link.open, !link.closeSent, let wsi = link.wsi else { return }
        if link.pingPending || link.closeRequest != nil || core.hasOutgoing(for: link.generation) {
            lws_callback_on_writable(wsi)
        }
    }

    /// On shutdown: put a 1001 close frame on the wire if a link is open, bounded by an lws
    /// timeout so a stalled socket cannot hold up the shutdown.
    private func closeForShutdown() {
        guard let link, link.open, !link.closeSent, let wsi = link.wsi, let context else { return }
        link.closeRequest = (1001, "going away")
        link.pingPending = false
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 2)
        lws_callback_on_writable(wsi)
        while self.link === link && !link.closeSent {
            lws_service(context, 0)
        }
    }
}
