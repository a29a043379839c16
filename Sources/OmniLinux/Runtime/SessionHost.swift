import Logging
import OmniCore
import OmniWebSocket

// Hosts the realtime session's SessionManager on the controller loop, over the libwebsockets
// transport: transport events hop onto the loop, and after every step the one deadline timer
// is set to the manager's next deadline (a no-op unless it changed). ("Session" in this project is only ever the
// realtime session with the service; this is where it runs.)

public final class SessionHost: @unchecked Sendable {
    // @unchecked: `manager`, `relay` and `pendingStop` are used on the loop only.
    public let loop: ControllerLoop
    private let transport: LWSClientTransport
    private let manager: SessionManager
    private let relay: EventRelay
    /// A graceful stop waiting for the link to be closed (or its time to run out).
    private var pendingStop: (@Sendable () -> Void)?
    /// Fires the manager's `tick()` at its next deadline.
    private var deadline: LoopDeadline?
    /// Transport events kept while the owner finishes a step (`holdIntake`).
    private var intakeHeld = false
    private var heldEvents: [TransportEvent] = []

    public init(request: ConnectRequest, session: SessionConfigValue, settings: SessionSettings,
                loop: ControllerLoop, logger: Logger) {
        self.loop = loop
        // The transport calls back on its own thread; `weakSelf` avoids a cycle through it.
        let box = WeakBox<SessionHost>()
        // The receive window bounds what a flooding server can queue on the loop (each message
        // waits there to be decoded): the control socket, timers and the watchdog run in between.
        // It runs on the loop's own thread (LWSClientEngine+Hosted.swift): the post only queues
        // the event, which runs once lws_service has returned.
        transport = LWSClientTransport(logger: Logger(label: "omnid.ws"), receiveWindow: Self.receiveWindow,
                                       host: loop.events) { event in
            loop.post { box.value?.handleTransport(event) }
        }
        // The manager reports through the relay, which exists before the manager does, so
        // nothing here is half-built.
        let relay = EventRelay()
        self.relay = relay
        manager = SessionManager(
            request: request, session: session, transport: transport, clock: loop.clock, settings: settings,
            logger: logger
        ) { event in relay.deliver(event) }
        box.value = self
        relay.afterEach = { [weak self] in self?.finishStopIfClosed() }
        deadline = loop.deadline { box.value?.withManager { $0.tick() } }
    }

    /// Sets the handler for session events; called on the loop.
    public func setEventHandler(_ handler: @escaping (SessionEvent) -> Void) {
        loop.preconditionIsCurrent("(SessionHost.setEventHandler)")
        relay.handler = handler
    }

    /// Runs `body` with the manager on the loop, then re-arms the timer. Must be on the loop.
    public func withManager<T>(_ body: (SessionManager) -> T) -> T {
        loop.preconditionIsCurrent("(SessionHost.withManager)")
        let result = body(manager)
        rearm()
        return result
    }

    public func start() {
        loop.post { self.withManager { $0.start() } }
    }

    /// Graceful stop: close frame, then `done` (on the loop) once closed or after `timeout`.
    /// Driven by the manager's state change to `disconnected`, with one deadline as the
    /// fallback: nothing polls.
    public func stop(timeout: Duration = .seconds(2), done: @escaping @Sendable () -> Void) {
        loop.post {
            self.pendingStop = done
            self.withManager { $0.stop() }
            self.finishStopIfClosed()
            self.loop.after(timeout) { self.finishStop() }
        }
    }

    private func finishStopIfClosed() {
        if pendingStop != nil, manager.state == .disconnected { finishStop() }
    }

    private func finishStop() {
        guard let done = pendingStop else { return }
        pendingStop = nil
        transport.shutdown()
        done()
    }

    /// Received messages that may wait on the loop: a few hundred small events, or a few seconds
    /// of answer audio (a 100 ms delta is 6.4 KB of Base64), before the socket is left unread.
    static let receiveWindow = LWSClientTransport.ReceiveWindow(messages: 256, bytes: 1 << 20)

    private func handleTransport(_ event: TransportEvent) {
        if intakeHeld {
            heldEvents.append(event)
            return
        }
        withManager { $0.handle(event) }
        transport.receivedMessageHandled(event)
    }

    /// Keeps what the link reports from the manager until `releaseIntake()`: the owner is in
    /// the middle of a step whose remaining calls into the manager must come before anything
    /// the link reports meanwhile, as they would have without the wait (the end of a turn's
    /// capture waiting for the audio thread, Daemon+Capture.swift). On the loop.
    public func holdIntake() {
        loop.preconditionIsCurrent("(SessionHost.holdIntake)")
        intakeHeld = true
    }

    /// Hands the manager what was kept, in order. On the loop.
    public func releaseIntake() {
        loop.preconditionIsCurrent("(SessionHost.releaseIntake)")
        guard intakeHeld else { return }
        intakeHeld = false
        let events = heldEvents
        heldEvents.removeAll()
        for e in events { handleTransport(e) }
    }

    /// Leaves the service's socket unread until released (LWSClientTransport.holdReceiving;
    /// ReceivePacing decides when). On the loop.
    public func holdReceiving(_ hold: Bool) {
        transport.holdReceiving(hold)
    }

    /// Runs `work` on the loop once everything the service has sent so far has been read and
    /// handed to the manager (after the events it brought); ends a hold. On the loop.
    public func afterReceivedAll(_ work: @escaping @Sendable () -> Void) {
        let loop = self.loop
        transport.afterReceivedAll { loop.post(work) }
    }

    private func rearm() {
        deadline?.set(manager.nextDeadline)
    }
}

public typealias SessionConfigValue = RealtimeSessionConfig

/// Where the manager's events go: set after construction, used on the loop only.
private final class EventRelay: @unchecked Sendable {
    // @unchecked: touched on the controller loop only.
    var handler: (SessionEvent) -> Void = { _ in }
    /// Runs after each event is handled (the host checks for a finished stop).
    var afterEach: () -> Void = {}

    func deliver(_ event: SessionEvent) {
        handler(event)
        afterEach()
    }
}

final class WeakBox<T: AnyObject>: @unchecked Sendable {
    // @unchecked: written once before any reader can run.
    weak var value: T?
}
