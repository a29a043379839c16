import Dispatch
import Logging
import OmniCore
import OmniWebSocket

// Runs a SessionManager over the libwebsockets transport on the controller loop: transport
// events hop onto the loop, and the loop's timer is re-armed to the manager's next deadline
// after every step.

public final class SessionRuntime: @unchecked Sendable {
    // @unchecked: `manager` and `onEvent` are used on `loop.queue` only.
    public let loop: ControllerLoop
    private let transport: LWSClientTransport
    private var manager: SessionManager!
    private var onEvent: (SessionEvent) -> Void = { _ in }

    public init(request: ConnectRequest, session: SessionConfigValue, settings: SessionSettings,
                loop: ControllerLoop, logger: Logger) {
        self.loop = loop
        // The transport calls back on its own thread; `weakSelf` avoids a cycle through it.
        let box = WeakBox<SessionRuntime>()
        // The receive window bounds what a flooding server can queue on the loop (each message
        // waits there to be decoded): the control socket, timers and the watchdog run in between.
        transport = LWSClientTransport(logger: Logger(label: "omnid.ws"), receiveWindow: Self.receiveWindow) { event in
            loop.post { box.value?.handleTransport(event) }
        }
        box.value = self
        manager = SessionManager(
            request: request, session: session, transport: transport, clock: loop.clock, settings: settings,
            logger: logger
        ) { [unowned self] event in self.onEvent(event) }
    }

    /// Sets the handler for session events; called on the loop.
    public func setEventHandler(_ handler: @escaping (SessionEvent) -> Void) {
        dispatchPrecondition(condition: .onQueue(loop.queue))
        onEvent = handler
    }

    /// Runs `body` with the manager on the loop, then re-arms the timer. Must be on the loop.
    public func withManager<T>(_ body: (SessionManager) -> T) -> T {
        dispatchPrecondition(condition: .onQueue(loop.queue))
        let result = body(manager)
        rearm()
        return result
    }

    public func start() {
        loop.post { self.withManager { $0.start() } }
    }

    /// Graceful stop: close frame, then `done` (on the loop) once closed or after `timeout`.
    public func stop(timeout: Duration = .seconds(2), done: @escaping @Sendable () -> Void) {
        loop.post {
            self.withManager { $0.stop() }
            let deadline = self.loop.clock.now() + timeout
            self.waitForDisconnect(until: deadline, done: done)
        }
    }

    private func waitForDisconnect(until deadline: Duration, done: @escaping @Sendable () -> Void) {
        if manager.state == .disconnected || loop.clock.now() >= deadline {
            transport.shutdown()
            done()
            return
        }
        loop.queue.asyncAfter(deadline: .now() + .milliseconds(20)) {
            self.waitForDisconnect(until: deadline, done: done)
        }
    }

    /// Received messages that may wait on the loop: a few hundred small events, or a few seconds
    /// of answer audio (a 100 ms delta is 6.4 KB of Base64), before the socket is left unread.
    static let receiveWindow = LWSClientTransport.ReceiveWindow(messages: 256, bytes: 1 << 20)

    private func handleTransport(_ event: TransportEvent) {
        withManager { $0.handle(event) }
        transport.receivedMessageHandled(event)
    }

    private func rearm() {
        loop.wake(at: manager.nextDeadline) { [weak self] in
            self?.withManager { $0.tick() }
        }
    }
}

public typealias SessionConfigValue = RealtimeSessionConfig

final class WeakBox<T: AnyObject>: @unchecked Sendable {
    // @unchecked: written once before any reader can run.
    weak var value: T?
}
