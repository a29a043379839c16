#if canImport(Glibc)
import Glibc
#endif
import CLibWebSockets
// omni_lws.h includes libwebsockets.h too; import it wherever lws symbols are used.
import CWebSocketShim
@testable import OmniWebSocket
import Synchronization

/// A bare libwebsockets server for tests that need exact WebSocket framing: it sends each
/// connection a scripted list of messages, each as the given fragments (TEXT, CONTINUATION...,
/// final CONTINUATION). LWSServer only ever sends a message as one frame. It also records the
/// close code each client sent. Nothing is read from clients.
final class WSFragmentServer: Sendable {
    /// One message: the payload of each of its frames, in order.
    typealias Message = [[UInt8]]

    private struct State {
        /// scripts[n] is sent to the n-th connection (0-based) once it opens.
        var scripts: [[Message]]
        var opened = 0
        var closed = 0
        var closeCodes: [Int] = []
    }

    private let state: Mutex<State>
    private let stopping = Atomic<Bool>(false)
    fileprivate let service = LWSServiceThread(name: "test-lws-frags")

    /// Call `stop()` when done: the service thread keeps the server alive until then.
    init(scripts: [[Message]]) {
        state = Mutex(State(scripts: scripts))
    }

    /// A text message of `sizes` fragments, each filled with `byte`.
    static func message(_ sizes: [Int], byte: UInt8 = UInt8(ascii: "x")) -> Message {
        sizes.map { [UInt8](repeating: byte, count: $0) }
    }

    /// Starts serving on an ephemeral loopback port and returns it (0 if lws failed).
    func start() -> Int {
        let started = LWSOneShot<Int>()
        guard service.start({ [self] in WSFragmentEngine(server: self).run(started) }) else { return 0 }
        return started.wait()
    }

    func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        service.wake()
        service.join()
    }

    var opened: Int { state.withLock { $0.opened } }
    var closed: Int { state.withLock { $0.closed } }
    /// Close codes received from clients, in order.
    var closeCodes: [Int] { state.withLock { $0.closeCodes } }

    fileprivate var isStopping: Bool { stopping.load(ordering: .relaxed) }

    fileprivate func nextScript() -> [Message] {
        state.withLock { s in
            defer { s.opened += 1 }
            return s.opened < s.scripts.count ? s.scripts[s.opened] : []
        }
    }

    fileprivate func recordClose(code: Int?) {
        state.withLock { s in
            if let code { s.closeCodes.append(code) } else { s.closed += 1 }
        }
    }
}

/// The service-thread side; confined to that thread.
private final class WSFragmentEngine {
    let server: WSFragmentServer
    var pending: [OpaquePointer: [(frame: [UInt8], kind: lws_write_protocol)]] = [:]
    let strings = CStringPool()

    init(server: WSFragmentServer) {
        self.server = server
    }

    func run(_ started: LWSOneShot<Int>) {
        guard let protocols = omni_lws_protocols_create("test-fragments", wsFragmentCallback, 65_536) else {
            return started.fulfil(0)
        }
        defer { omni_lws_protocols_destroy(protocols) }
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.options = UInt64(LWS_SERVER_OPTION_EXPLICIT_VHOSTS)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.fd_limit_per_thread = 64
        info.gid = -1
        info.uid = -1
        guard let context = LWSLibrary.createContext(&info) else { return started.fulfil(0) }
        var vhost = lws_context_creation_info()
        vhost.port = 0
        vhost.protocols = UnsafePointer(protocols)
        vhost.vhost_name = strings.keep("test-fragments")
        vhost.iface = strings.keep("127.0.0.1")
        vhost.options = UInt64(LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_DISABLE_IPV6)
        guard let listening = LWSLibrary.createVhost(context, &vhost) else {
            LWSLibrary.destroyContext(context)
            return started.fulfil(0)
        }
        server.service.publish(context)
        started.fulfil(Int(lws_get_vhost_listen_port(listening)))
        while !server.isStopping { lws_service(context, 0) }
        server.service.publish(nil)
        LWSLibrary.destroyContext(context)
    }

    func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                _ input: UnsafeMutableRawPointer?, _ length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_ESTABLISHED:
            pending[wsi] = server.nextScript().flatMap(Self.frames)
            lws_callback_on_writable(wsi)
            return 0
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard var queue = pending[wsi], !queue.isEmpty else { return 0 }
            var next = queue.removeFirst()
            pending[wsi] = queue
            guard LWSLibrary.write(wsi, frame: &next.frame, as: next.kind) else { return -1 }
            if !queue.isEmpty { lws_callback_on_writable(wsi) }
            return 0
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            server.recordClose(code: WebSocketClose.parse(input, length: length).code)
            return 0
        case LWS_CALLBACK_CLOSED:
            pending[wsi] = nil
            server.recordClose(code: nil)
            return 0
        case LWS_CALLBACK_RECEIVE:
            return 0
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    /// lws_write frames (LWS_PRE headroom first) for one message's fragments.
    static func frames(_ message: WSFragmentServer.Message) -> [(frame: [UInt8], kind: lws_write_protocol)] {
        message.enumerated().map { index, payload in
            var kind = index == 0 ? LWS_WRITE_TEXT.rawValue : LWS_WRITE_CONTINUATION.rawValue
            if index < message.count - 1 { kind |= LWS_WRITE_NO_FIN.rawValue }
            return ([UInt8](repeating: 0, count: LWSLibrary.pre) + payload, lws_write_protocol(rawValue: kind))
        }
    }
}

private func wsFragmentCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                                _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                                _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else { return 0 }
    return Unmanaged<WSFragmentEngine>.fromOpaque(owner).takeUnretainedValue().handle(wsi, reason, user, input, length)
}
