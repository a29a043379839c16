import Logging
import Synchronization

// State shared between LWSServer's callers and its service thread: per-connection outgoing
// queues and pending resets, behind one mutex. Handlers are never called with it held.

final class LWSServerCore: Sendable {
    enum Outgoing: Sendable {
        case frame(Frame)
        case close(code: Int, reason: String)
        /// RST once everything before it is written.
        case reset
    }

    /// One WebSocket frame as lws_write takes it: `LWSLibrary.pre` bytes of headroom, then the
    /// payload; the lws_write_protocol flags (opcode, NO_FIN); how long to wait before the next one.
    struct Frame: Sendable {
        var bytes: [UInt8]
        var flags: UInt32
        var gapAfterMs = 0
    }

    struct State {
        /// Present exactly while a connection is open (ESTABLISHED until CLOSED).
        var queues: [Int: LWSFIFO<Outgoing>] = [:]
        /// Connections that accept no more messages (close queued, reset pending).
        var closing: Set<Int> = []
        /// Connections with something new queued: the service thread asks lws for WRITEABLE.
        var dirty: Set<Int> = []
        var resets: [Int] = []
        var started = false
        var stopped = false
    }

    let configuration: LWSServer.Configuration
    let logger: Logger
    let handlers: LWSServer.Handlers
    let state = Mutex(State())
    let boundPort = Atomic<Int>(0)

    init(configuration: LWSServer.Configuration, logger: Logger, handlers: LWSServer.Handlers) {
        self.configuration = configuration
        self.logger = logger
        self.handlers = handlers
    }

    // MARK: caller side

    func markStarted() -> Bool {
        state.withLock { s in
            if s.started || s.stopped { return false }
            s.started = true
            return true
        }
    }

    func requestStop() -> Bool {
        state.withLock { s in
            if s.stopped { return false }
            s.stopped = true
            return true
        }
    }

    func enqueue(_ item: Outgoing, to id: Int) -> Bool {
        enqueue([item], to: id)
    }

    /// All of `items` or none, under one lock: the frames of one fragmented message stay together.
    func enqueue(_ items: [Outgoing], to id: Int) -> Bool {
        state.withLock { s in
            guard s.queues[id] != nil, !s.closing.contains(id), !s.stopped else { return false }
            for item in items {
                s.queues[id]!.append(item)
                switch item {
                case .close, .reset: s.closing.insert(id)
                case .frame: break
                }
            }
            s.dirty.insert(id)
            return true
        }
    }

    func requestReset(_ id: Int) -> Bool {
        state.withLock { s in
            guard s.queues[id] != nil, !s.stopped else { return false }
            s.queues[id]!.removeAll()
            s.closing.insert(id)
            s.resets.append(id)
            return true
        }
    }

    /// Messages (frames, closes) queued for `id` and not yet written; 0 when it is not open.
    func queuedCount(_ id: Int) -> Int {
        state.withLock { $0.queues[id]?.count ?? 0 }
    }

    func openConnections() -> [Int] {
        state.withLock { $0.queues.keys.sorted() }
    }

    // MARK: service-thread side

    struct Batch {
        var dirty: Set<Int>
        var resets: [Int]
        var stop: Bool
    }

    func takeBatch() -> Batch {
        state.withLock { s in
            defer {
                s.dirty.removeAll()
                s.resets.removeAll()
            }
            return Batch(dirty: s.dirty, resets: s.resets, stop: s.stopped)
        }
    }

    func opened(_ id: Int) {
        state.withLock { s in
            s.queues[id] = LWSFIFO()
            s.closing.remove(id)
        }
    }

    func closed(_ id: Int) {
        state.withLock { s in
            s.queues[id] = nil
            s.closing.remove(id)
            s.dirty.remove(id)
        }
    }

    /// Refuses further messages for `id` (the engine is closing it itself).
    func markClosing(_ id: Int) {
        _ = state.withLock { $0.closing.insert(id) }
    }

    func pop(_ id: Int) -> (item: Outgoing, more: Bool)? {
        state.withLock { s in
            guard let item = s.queues[id]?.popFirst() else { return nil }
            return (item, !(s.queues[id]?.isEmpty ?? true))
        }
    }
}

/// First-in first-out without Array.removeFirst's O(n) shifting: a server queue can hold many
/// thousands of audio messages for a slow client.
struct LWSFIFO<Element: Sendable>: Sendable {
    private var items: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    var count: Int { items.count - head }

    mutating func append(_ element: Element) {
        items.append(element)
    }

    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        items[head] = nil
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func removeAll() {
        items.removeAll()
        head = 0
    }
}
