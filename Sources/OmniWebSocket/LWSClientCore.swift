import Logging
import OmniCore
import Synchronization

// The state LWSClientTransport's callers and its service thread share: the command queue, the
// bounded send queue and the link generation. One mutex guards it all.

/// Commands travelling from caller threads to the service thread.
enum LWSClientCommand: Sendable {
    case connect(ConnectRequest, generation: UInt64)
    case close(code: Int, reason: String, generation: UInt64)
    case ping(generation: UInt64)
    case abort
    /// A lookup of `host` ended (LWSResolver, on its own thread).
    case resolved(host: String, LWSResolver.Outcome)
    /// The receiver's hold on reading (LWSClientTransport.holdReceiving).
    case holdReceiving(Bool)
    /// Ends a hold; runs once everything sent so far has been read (afterReceivedAll).
    case afterReceivedAll(@Sendable () -> Void)
}

/// State shared between callers and the service thread. Everything is behind one mutex; the
/// service thread never calls the event handler while holding it.
final class LWSClientCore: Sendable {
    struct State {
        /// Bumped by connect/abort/shutdown; a link (and its events) belongs to one generation.
        var generation: UInt64 = 0
        /// True from connect until the link ends or close/abort: `send` is accepted.
        var acceptsSends = false
        var outgoing: [[UInt8]] = []
        /// Set when the queue reached half full; cleared (with a `.writable`) when it drains below.
        var aboveHalf = false
        var commands: [LWSClientCommand] = []
        var stopped = false
        var dead: String?
    }

    let logger: Logger
    let connectTimeoutSeconds: Int
    let onEvent: @Sendable (TransportEvent) -> Void
    /// Name lookup, run on a resolver thread (LWSResolver.lookUp, or a test's stand-in).
    let lookUp: @Sendable (String) -> LWSResolver.Outcome
    let state = Mutex(State())
    let queued = Atomic<Int>(0)
    private let capacity = LWSClientTransport.sendQueueCapacity

    /// Receive flow control; nil without a receive window.
    let receiveFlow: LWSReceiveFlow?

    init(logger: Logger, connectTimeoutSeconds: Int, receiveWindow: LWSClientTransport.ReceiveWindow? = nil,
         lookUp: @escaping @Sendable (String) -> LWSResolver.Outcome = LWSResolver.lookUp,
         onEvent: @escaping @Sendable (TransportEvent) -> Void) {
        self.logger = logger
        self.lookUp = lookUp
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.receiveFlow = receiveWindow.map(LWSReceiveFlow.init)
        self.onEvent = onEvent
    }

    // MARK: caller side

    /// Nil when queued; otherwise why the transport cannot connect at all.
    func enqueueConnect(_ request: ConnectRequest) -> String? {
        state.withLock { s in
            if let dead = s.dead { return dead }
            if s.stopped { return "transport shut down" }
            s.generation &+= 1
            s.acceptsSends = true
            clearOutgoing(&s)
            s.commands.append(.connect(request, generation: s.generation))
            return nil
        }
    }

    func enqueueSend(_ frame: [UInt8]) -> Bool {
        state.withLock { s in
            guard s.acceptsSends, s.outgoing.count < capacity else { return false }
            s.outgoing.append(frame)
            if s.outgoing.count >= capacity / 2 { s.aboveHalf = true }
            queued.store(s.outgoing.count, ordering: .relaxed)
            return true
        }
    }

    /// Queues a command for the current link if there is one. `endSends` refuses further sends
    /// (close: what is queued still goes out first).
    func enqueueLinkCommand(_ make: (UInt64) -> LWSClientCommand, endSends: Bool = false) -> Bool {
        state.withLock { s in
            guard s.acceptsSends else { return false }
            if endSends { s.acceptsSends = false }
            s.commands.append(make(s.generation))
            return true
        }
    }

    func abort() {
        state.withLock { s in
            s.generation &+= 1
            s.acceptsSends = false
            clearOutgoing(&s)
            s.commands.append(.abort)
        }
    }

    /// False if already stopped.
    func stop() -> Bool {
        state.withLock { s in
            if s.stopped { return false }
            s.stopped = true
            s.generation &+= 1
            s.acceptsSends = false
            clearOutgoing(&s)
            return true
        }
    }

    /// Queues a command that needs no link (the receiver's hold); false once stopped.
    func enqueue(_ command: LWSClientCommand) -> Bool {
        state.withLock { s in
            guard !s.stopped else { return false }
            s.commands.append(command)
            return true
        }
    }

    /// From a resolver thread: queues its answer. False once the transport has stopped (nobody
    /// waits for it any more, and the service thread may be gone).
    func deliverResolution(host: String, _ outcome: LWSResolver.Outcome) -> Bool {
        state.withLock { s in
            guard !s.stopped else { return false }
            s.commands.append(.resolved(host: host, outcome))
            return true
        }
    }

    func markDead(_ reason: String) {
        state.withLock { s in
            s.dead = reason
            s.acceptsSends = false
            clearOutgoing(&s)
        }
    }

    private func clearOutgoing(_ s: inout State) {
        s.outgoing.removeAll()
        s.aboveHalf = false
        queued.store(0, ordering: .relaxed)
    }

    // MARK: service-thread side

    struct Batch {
        var commands: [LWSClientCommand]
        var generation: UInt64
        var stop: Bool
    }

    func takeBatch() -> Batch {
        state.withLock { s in
            defer { s.commands.removeAll() }
            return Batch(commands: s.commands, generation: s.generation, stop: s.stopped)
        }
    }

    /// Next message for the link of `generation`, whether `.writable` is due, and whether more wait.
    func popOutgoing(for generation: UInt64) -> (frame: [UInt8], nowWritable: Bool, more: Bool)? {
        state.withLock { s in
            guard s.generation == generation, !s.outgoing.isEmpty else { return nil }
            let frame = s.outgoing.removeFirst()
            queued.store(s.outgoing.count, ordering: .relaxed)
            var nowWritable = false
            if s.aboveHalf && s.outgoing.count < capacity / 2 {
                s.aboveHalf = false
                nowWritable = true
            }
            return (frame, nowWritable, !s.outgoing.isEmpty)
        }
    }

    func hasOutgoing(for generation: UInt64) -> Bool {
        state.withLock { s in s.generation == generation && !s.outgoing.isEmpty }
    }

    /// The link of `generation` is over: refuse sends and drop what is queued.
    func endLink(_ generation: UInt64) {
        state.withLock { s in
            guard s.generation == generation else { return }
            s.acceptsSends = false
            clearOutgoing(&s)
        }
    }

    /// Delivers an event unless its link has since been replaced, aborted or shut down.
    func emit(_ event: TransportEvent, for generation: UInt64) {
        guard state.withLock({ $0.generation == generation }) else { return }
        onEvent(event)
    }

    /// Delivers a received message (`.text`, `.binary`) like `emit`, counting it against the
    /// receive window. True when the window is now full: the caller stops reading.
    func emitReceived(_ event: TransportEvent, bytes: Int, for generation: UInt64) -> Bool {
        guard state.withLock({ $0.generation == generation }) else { return false }
        let full = receiveFlow?.delivering(bytes: bytes) ?? false
        onEvent(event)
        return full
    }
}
