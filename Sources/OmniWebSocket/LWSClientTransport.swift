import Logging
import OmniCore
import OmniSystem
import Synchronization

/// The realtime WebSocket client on libwebsockets.
///
/// Threading: one dedicated service thread ("omni-lws-client") owns the lws context and every
/// lws call. The methods below may be called from any thread; they only queue work under a
/// mutex and wake that thread. Events are delivered on the service thread, in order, one at a
/// time; the handler must not block (hop to your own loop). Calling these methods from inside
/// the handler is fine.
///
/// Behaviour worth knowing:
/// - `.pong` is emitted for received pong frames, `.binary(byteCount:)` for binary messages
///   (whose payload is dropped: the protocol has none). Text messages arrive as `.text`; all
///   three prove the link alive.
/// - A received message bigger than `ConnectRequest.maxMessageBytes` (1009), not UTF-8 (1007), or
///   still incomplete `maxMessageDuration` after its first frame (1008: a sender that dribbles
///   it) fails the link with `.failed(.protocolError)`; pongs arriving while a message is overdue
///   do not count as signs of life.
/// - A link that drops without a close handshake (reset, timeout, network loss) ends with
///   `.failed(.connect("connection lost"))`; `.closed` is only used when a close frame was sent
///   by us (`close`) or received from the server (its code and reason).
/// - `close` while still connecting abandons the attempt and emits `.closed(code, reason)`;
///   when open, messages already queued go out first, then the close frame. Codes that may not
///   be sent (1005, 1006, out of range) go out, and are reported, as 1000.
/// - `send` is accepted from `connect` (messages queue while connecting) until the link ends or
///   `close`/`abort` is called; it returns false otherwise or when `sendQueueCapacity` messages
///   wait. `.writable` is emitted when the queue, having reached half its capacity, drains
///   below half again. A new link starts with an empty queue.
/// - `abort`, a new `connect`, and `shutdown` drop the current link silently; an event already
///   being delivered on the service thread at that instant may still arrive.
/// - Synchronous exception: `connect` after `shutdown` reports its `.failed` on the caller's
///   thread.
/// - wss:// verifies the server against the system CA store, or only against
///   `ConnectRequest.caFile` when given; redirects are not followed (they are reported as
///   `.httpStatus`). ws:// is refused unless the host is loopback or `allowInsecure` is set.
/// - DNS resolution (getaddrinfo) runs on a detached thread per lookup (LWSResolver), never on the
///   service thread: a resolver that hangs delays only that link, and `shutdown` does not wait
///   for it. lws gets the numeric address; the host name stays the Host header, the SNI name
///   and the name the certificate is verified against. Like lws itself, a connection refused or
///   timed out at one address of the name is tried at the next.
public final class LWSClientTransport: RealtimeTransport {
    /// Messages `send` accepts before it starts returning false.
    public static let sendQueueCapacity = 64
    /// Default limit for TCP connect, TLS and the upgrade handshake, each.
    public static let defaultConnectTimeoutSeconds = 10

    private let core: LWSClientCore
    private let service: LWSServiceThread

    /// - Parameters:
    ///   - connectTimeoutSeconds: limit for each connect stage (TCP, TLS, upgrade response).
    ///   - receiveWindow: receive flow control. When set, received messages (`.text`,
    ///     `.binary`) are delivered until this many, or this many bytes, are outstanding (not
    ///     yet passed to `receivedMessageHandled`); then the socket is not read (TCP pushes back
    ///     on the server) until the receiver is down to half of both. For a receiver that hops
    ///     to a loop of its own: what a flooding server can pile onto that loop stays bounded.
    ///   - host: run on this loop's thread (LWSClientEngine+Hosted.swift) instead of a service
    ///     thread of its own; "the service thread" below is then the loop's thread. Its owner
    ///     posts the events to the loop (they arrive from inside lws callbacks).
    ///   - onEvent: called on the service thread; see the type's documentation.
    public convenience init(logger: Logger, connectTimeoutSeconds: Int = LWSClientTransport.defaultConnectTimeoutSeconds,
                            receiveWindow: ReceiveWindow? = nil, host: EventLoop? = nil,
                            onEvent: @escaping @Sendable (TransportEvent) -> Void) {
        self.init(logger: logger, connectTimeoutSeconds: connectTimeoutSeconds, receiveWindow: receiveWindow,
                  host: host, lookUp: LWSResolver.lookUp, onEvent: onEvent)
    }

    /// `lookUp` stands in for getaddrinfo (tests: names that resolve to chosen addresses, or a
    /// lookup that never ends); it still runs on a resolver thread.
    init(logger: Logger, connectTimeoutSeconds: Int = LWSClientTransport.defaultConnectTimeoutSeconds,
         receiveWindow: ReceiveWindow? = nil, host: EventLoop? = nil,
         lookUp: @escaping @Sendable (String) -> LWSResolver.Outcome,
         onEvent: @escaping @Sendable (TransportEvent) -> Void) {
        let core = LWSClientCore(logger: logger, connectTimeoutSeconds: max(1, connectTimeoutSeconds),
                                 receiveWindow: receiveWindow, lookUp: lookUp, onEvent: onEvent)
        let service = LWSServiceThread(name: "omni-lws-client", host: host)
        self.core = core
        self.service = service
        if let host {
            host.post { LWSClientEngine(core: core, service: service).attach(to: host) }
        } else if !service.start({ LWSClientEngine(core: core, service: service).run() }) {
            core.markDead("could not start the network thread")
        }
    }

    deinit {
        shutdown()
    }

    public func connect(_ request: ConnectRequest) {
        core.logger.info("connecting to \(request)")
        if let refusal = core.enqueueConnect(request) {
            core.onEvent(.failed(.connect(refusal)))
        } else {
            service.wake()
        }
    }

    public func send(text: String) -> Bool {
        let frame = LWSLibrary.frame(text)  // built outside the lock: it copies the whole text
        guard core.enqueueSend(frame) else { return false }
        service.wake()
        return true
    }

    public var queuedMessages: Int { core.queued.load(ordering: .relaxed) }

    /// Outstanding received messages allowed before the transport stops reading; see `init`.
    public struct ReceiveWindow: Sendable, Equatable {
        public var messages: Int
        public var bytes: Int

        public init(messages: Int, bytes: Int) {
            self.messages = messages
            self.bytes = bytes
        }
    }

    /// With a `receiveWindow`: `event`, as delivered, has been handled (other events are
    /// ignored, so a receiver may pass every event). Any thread.
    public func receivedMessageHandled(_ event: TransportEvent) {
        guard let flow = core.receiveFlow, let bytes = LWSReceiveFlow.size(of: event) else { return }
        if flow.handled(bytes: bytes) { service.wake() }
    }

    /// Leaves the socket unread (true) until released (false): TCP keeps what arrives meanwhile,
    /// and the next pass after the release reads it all, back to back. For a receiver with
    /// enough in hand (answer audio queued for seconds) that would rather take several messages
    /// in one wake-up than one per wake-up. Applies to the current link and any later one; the
    /// receive window's own pause (see `init`) is independent of it. Any thread.
    public func holdReceiving(_ hold: Bool) {
        if core.enqueue(.holdReceiving(hold)) { service.wake() }
    }

    /// Runs `work` (on the service thread, like the events) once everything the server had sent
    /// when this was called has been read and delivered: ends a `holdReceiving` first. For a
    /// receiver about to act on what it knows of the server (a user's press during a hold:
    /// the answer may have ended meanwhile). Right away, at the next pass, without an open link.
    public func afterReceivedAll(_ work: @escaping @Sendable () -> Void) {
        if core.enqueue(.afterReceivedAll(work)) { service.wake() }
    }

    public func ping() {
        if core.enqueueLinkCommand({ .ping(generation: $0) }) { service.wake() }
    }

    public func close(code: Int = 1000, reason: String = "") {
        if core.enqueueLinkCommand({ .close(code: code, reason: reason, generation: $0) }, endSends: true) {
            service.wake()
        }
    }

    public func abort() {
        core.abort()
        service.wake()
    }

    /// Closes any open link (close frame 1001 "going away", no event), stops the service thread
    /// and destroys the lws context. Idempotent; the transport is unusable afterwards
    /// (`connect` then reports `.failed(.connect("transport shut down"))`).
    public func shutdown() {
        guard core.stop() else { return }
        service.wake()
        service.join()
    }
}
