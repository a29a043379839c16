import CLibWebSockets
// omni_lws.h includes libwebsockets.h too; import it wherever lws symbols are used.
import CWebSocketShim
import Logging
import Synchronization

/// A small WebSocket server on libwebsockets, for omni-sim and tests.
///
/// Threading: one service thread ("omni-lws-server") owns the lws context. All handlers are
/// called on that thread, one at a time, in order per connection; `onUpgrade` must answer
/// synchronously and none of them should block. `send`, `close`, `reset` and `stop` may be
/// called from any thread, including from inside a handler.
///
/// Behaviour worth knowing:
/// - Clients that send no Sec-WebSocket-Protocol header are accepted (as are any others: the
///   single protocol is the vhost default).
/// - Connection ids start at 1 and are assigned at the upgrade request; a rejected upgrade
///   gets an id but no `onOpen`/`onClose`.
/// - Messages are reassembled up to `maxMessageBytes`; a bigger one closes the connection with
///   1009. Binary messages are delivered like text (UTF-8 decoded, invalid bytes replaced).
/// - Outgoing queues are unbounded (a simulator should not drop what it was told to send).
/// - Messages go out as one frame each, except through `send(connectionID:payload:…)`.
/// - Plain HTTP requests without an upgrade get 426.
/// - `stop()` drops all connections without close frames (clients see the link lost).
public final class LWSServer: Sendable {
    public enum UpgradeDecision: Sendable, Equatable {
        case accept
        /// Answer the upgrade request with this HTTP status and text body instead of upgrading.
        case reject(status: Int, body: String)
    }

    public struct Configuration: Sendable {
        /// Address to listen on: an IP literal ("127.0.0.1", "::1"), "0.0.0.0" / "::" for all,
        /// or an interface name.
        public var host: String
        /// 0 picks a free port; `start()` returns the one bound.
        public var port: Int
        public var tlsCertificatePath: String?
        public var tlsPrivateKeyPath: String?
        public var maxMessageBytes: Int

        public init(host: String = "127.0.0.1", port: Int = 0, tlsCertificatePath: String? = nil,
                    tlsPrivateKeyPath: String? = nil, maxMessageBytes: Int = 16 << 20) {
            self.host = host
            self.port = port
            self.tlsCertificatePath = tlsCertificatePath
            self.tlsPrivateKeyPath = tlsPrivateKeyPath
            self.maxMessageBytes = maxMessageBytes
        }
    }

    public enum StartError: Error, Equatable, CustomStringConvertible {
        case alreadyStarted
        case thread
        case listen(String)

        public var description: String {
            switch self {
            case .alreadyStarted: "server already started (a stopped server cannot be restarted)"
            case .thread: "could not start the server thread"
            case .listen(let why): "cannot listen: \(why)"
            }
        }
    }

    /// (connectionID, path, query, headers) -> decision. `headers` are lowercased names.
    public typealias UpgradeHandler = @Sendable (_ connectionID: Int, _ path: String, _ query: String,
                                                 _ headers: [String: String]) -> UpgradeDecision

    struct Handlers: Sendable {
        let onUpgrade: UpgradeHandler
        let onOpen: @Sendable (Int) -> Void
        let onText: @Sendable (Int, String) -> Void
        let onClose: @Sendable (Int) -> Void
    }

    private let core: LWSServerCore
    private let service = LWSServiceThread(name: "omni-lws-server")

    public init(configuration: Configuration = Configuration(), logger: Logger,
                onUpgrade: @escaping UpgradeHandler = { _, _, _, _ in .accept },
                onOpen: @escaping @Sendable (_ connectionID: Int) -> Void = { _ in },
                onText: @escaping @Sendable (_ connectionID: Int, _ text: String) -> Void,
                onClose: @escaping @Sendable (_ connectionID: Int) -> Void = { _ in }) {
        core = LWSServerCore(
            configuration: configuration, logger: logger,
            handlers: Handlers(onUpgrade: onUpgrade, onOpen: onOpen, onText: onText, onClose: onClose))
    }

    deinit {
        stop()
    }

    /// Binds and starts serving; returns the port actually bound. Blocks until listening.
    @discardableResult
    public func start() throws(StartError) -> Int {
        guard core.markStarted() else { throw .alreadyStarted }
        let started = LWSOneShot<Result<Int, StartError>>()
        let core = self.core
        let service = self.service
        guard service.start({ LWSServerEngine(core: core, service: service).run(started) }) else {
            throw .thread
        }
        switch started.wait() {
        case .success(let port):
            core.logger.info("websocket server listening on \(core.configuration.host):\(port)")
            return port
        case .failure(let error):
            service.join()
            throw error
        }
    }

    /// The bound port once started, else 0.
    public var port: Int { core.boundPort.load(ordering: .relaxed) }

    /// Ids of connections that are open (between `onOpen` and `onClose`).
    public var openConnections: [Int] { core.openConnections() }

    /// Messages queued for a connection and not yet written (a sender can pace itself by it).
    public func queuedMessages(connectionID: Int) -> Int { core.queuedCount(connectionID) }

    /// Queues a text message; false if the connection is not open or is closing.
    @discardableResult
    public func send(connectionID: Int, text: String) -> Bool {
        let frame = LWSServerCore.Frame(bytes: LWSLibrary.frame(text), flags: LWS_WRITE_TEXT.rawValue)
        guard core.enqueue(.frame(frame), to: connectionID) else { return false }
        service.wake()
        return true
    }

    /// A message with exact framing, for fault injection: any bytes (invalid UTF-8 in a text
    /// message is a test case), text or binary, split into frames of `fragmentBytes` payload bytes
    /// (nil: one frame) with `gapMs` between frames (a slow sender; lws still answers pings
    /// between them). Later messages wait behind it.
    @discardableResult
    public func send(connectionID: Int, payload: [UInt8], binary: Bool = false, fragmentBytes: Int? = nil,
                     gapMs: Int = 0) -> Bool {
        let size = max(1, fragmentBytes ?? payload.count)
        var frames: [LWSServerCore.Outgoing] = []
        var start = 0
        repeat {
            let end = min(payload.count, start + size)
            var flags = start == 0 ? (binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT).rawValue : LWS_WRITE_CONTINUATION.rawValue
            let last = end == payload.count
            if !last { flags |= LWS_WRITE_NO_FIN.rawValue }
            let bytes = [UInt8](repeating: 0, count: LWSLibrary.pre) + payload[start..<end]
            frames.append(.frame(LWSServerCore.Frame(bytes: bytes, flags: flags, gapAfterMs: last ? 0 : max(0, gapMs))))
            start = end
        } while start < payload.count
        guard core.enqueue(frames, to: connectionID) else { return false }
        service.wake()
        return true
    }

    /// Same as `send`: the payload goes out verbatim as one text frame, so a malformed message
    /// (broken JSON, anything) is just a different string.
    @discardableResult
    public func sendRaw(connectionID: Int, text: String) -> Bool {
        send(connectionID: connectionID, text: text)
    }

    /// Sends a close frame after what is already queued; `onClose` follows when the link ends.
    public func close(connectionID: Int, code: Int = 1000, reason: String = "") {
        if core.enqueue(.close(code: code, reason: reason), to: connectionID) { service.wake() }
    }

    /// Drops the TCP connection abruptly (RST: SO_LINGER {1, 0}), discarding queued messages;
    /// with `afterQueued`, once the messages already queued are written (a reset "after X").
    public func reset(connectionID: Int, afterQueued: Bool = false) {
        if afterQueued ? core.enqueue(.reset, to: connectionID) : core.requestReset(connectionID) { service.wake() }
    }

    /// Stops listening, drops every connection (each gets `onClose`) and joins the thread.
    public func stop() {
        guard core.requestStop() else { return }
        service.wake()
        service.join()
    }
}
