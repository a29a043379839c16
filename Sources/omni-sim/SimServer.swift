import Dispatch
import Logging
import OmniWebSocket
import RealtimeProtocol
import SimulatorCore
import Synchronization

/// The network side of omni-sim: an LWSServer, one SimConnection per connection and a timer per
/// connection that calls `tick` at the session's next deadline.
///
/// Threading: LWSServer calls back on its service thread; everything else (sessions, timers,
/// the log) lives on `queue`, a serial queue, so the simulator state needs no locks. The only
/// state touched from the service thread is `pending` (upgrade decisions waiting for onOpen),
/// behind a Mutex. Hence `@unchecked Sendable`.
final class SimServer: @unchecked Sendable {
    struct Settings: Sendable {
        var host: String
        var port: Int
        var tlsCertificate: String?
        var tlsKey: String?
        var policy: HandshakePolicy
        var options: SimOptions
        var faultFile: String?
        var defaultFault: String?
        var seed: UInt64
    }

    private final class Connection {
        let id: Int
        let session: SimConnection
        let opened: ContinuousClock.Instant
        var timer: DispatchSourceTimer?

        init(id: Int, session: SimConnection, opened: ContinuousClock.Instant) {
            self.id = id
            self.session = session
            self.opened = opened
        }
    }

    private struct Pending {
        var model: String
        var fault: FaultPlan?
        var path: String
        var query: String
        var headers: [String: String]
    }

    private let settings: Settings
    private let logger: Logger
    private let queue = DispatchQueue(label: "omni-sim")
    private let eventLog: EventLogWriter
    private let pending = Mutex<[Int: Pending]>([:])
    private var connections: [Int: Connection] = [:]
    /// WebSocket connections opened so far (for fault_connection).
    private var openedCount = 0
    private var server: LWSServer!

    init(settings: Settings, eventLog: EventLogWriter, logger: Logger) {
        self.settings = settings
        self.eventLog = eventLog
        self.logger = logger
    }

    /// Starts listening; returns the bound port.
    func start() throws -> Int {
        let config = LWSServer.Configuration(
            host: settings.host, port: settings.port, tlsCertificatePath: settings.tlsCertificate,
            tlsPrivateKeyPath: settings.tlsKey)
        server = LWSServer(
            configuration: config, logger: logger,
            onUpgrade: { [self] id, path, query, headers in upgrade(id, path, query, headers) },
            onOpen: { [self] id in queue.async { self.opened(id) } },
            onText: { [self] id, text in queue.async { self.received(id, text) } },
            onClose: { [self] id in queue.async { self.closed(id) } })
        return try server.start()
    }

    func stop() {
        server?.stop()
        queue.sync {}
    }

    // MARK: service thread

    private func upgrade(_ id: Int, _ path: String, _ query: String, _ headers: [String: String])
        -> LWSServer.UpgradeDecision
    {
        let control = settings.faultFile.flatMap(FileIO.readText) ?? settings.defaultFault
        let decision = settings.policy.decide(uri: path, query: query, header: { headers[$0.lowercased()] },
                                              controlFile: control)
        switch decision {
        case .accept(let model, let fault):
            pending.withLock { $0[id] = Pending(model: model, fault: fault, path: path, query: query, headers: headers) }
            return .accept
        case .reject(let status, let body):
            queue.async {
                self.eventLog.write(conn: id, dir: "sim", event: EventLog.pseudo("_ws.reject", [
                    ("status", .int(Int64(status))), ("path", .string(path)), ("query", .string(query)),
                    ("body", .string(body)),
                ]))
            }
            logger.info("connection \(id): refused \(status) \(path)?\(query)")
            return .reject(status: status, body: body)
        }
    }

    // MARK: queue

    private func opened(_ id: Int) {
        guard var p = pending.withLock({ $0.removeValue(forKey: id) }) else { return }
        openedCount += 1
        if let f = p.fault, !f.applies(toConnection: openedCount) { p.fault = nil }
        let session = SimConnection(model: p.model, options: settings.options, fault: p.fault,
                                 seed: settings.seed &+ UInt64(id) &* 0x9E37_79B9)
        let conn = Connection(id: id, session: session, opened: .now)
        connections[id] = conn
        var headers = JSONObject()
        for (k, v) in p.headers.sorted(by: { $0.key < $1.key }) {
            headers.append(k, .string(k == "authorization" ? "<redacted>" : v))
        }
        eventLog.write(conn: id, dir: "client", event: EventLog.pseudo("_ws.open", [
            ("path", .string(p.path)), ("query", .string(p.query)), ("headers", .object(headers)),
            ("fault", p.fault.map { .string($0.kind.rawValue) } ?? .null),
        ]))
        logger.info("connection \(id): open model=\(p.model) fault=\(p.fault?.kind.rawValue ?? "none")")
        perform(session.open(), on: conn)
    }

    private func received(_ id: Int, _ text: String) {
        guard let conn = connections[id] else { return }
        if eventLog.enabled {
            if let v = try? JSONParser.parse(text), v.objectValue != nil {
                eventLog.write(conn: id, dir: "client", event: v)
            } else {
                eventLog.write(conn: id, dir: "client", event: EventLog.pseudo("_sim.unparsable", [
                    ("bytes", .int(Int64(text.utf8.count))), ("text", .string(String(text.prefix(200)))),
                ]))
            }
        }
        perform(conn.session.receive(text: text, now: .now - conn.opened), on: conn)
    }

    private func closed(_ id: Int) {
        pending.withLock { _ = $0.removeValue(forKey: id) }
        guard let conn = connections.removeValue(forKey: id) else { return }
        conn.session.clientClosed()
        conn.timer?.cancel()
        conn.timer = nil
        eventLog.write(conn: id, dir: "sim", event: EventLog.pseudo("_ws.closed"))
        logger.info("connection \(id): closed")
    }

    /// Timers fired per tick: about 2 s of answer at the default 100 ms deltas. The queue then
    /// sends them, and serves what the client sent meanwhile (a `response.cancel`), before more.
    private static let timersPerTick = 20

    /// Messages allowed to wait in the socket's queue before the timers wait too (about 400 KB of
    /// 100 ms deltas). A real server is paced by TCP: what it has not sent yet it has not made, so
    /// after a `response.cancel` only this much of an answer still reaches the client. Without it
    /// a flood queued the whole 400 s answer here, and the client had to read through all of it
    /// before it saw the next turn's response.
    private static let queuedMessagesLimit = 64

    private func tick(_ conn: Connection) {
        guard connections[conn.id] === conn else { return }
        if server.queuedMessages(connectionID: conn.id) > Self.queuedMessagesLimit {
            // The queue drains as the client reads; look again shortly (only while backed up).
            conn.timer?.schedule(deadline: .now() + .milliseconds(5), leeway: .milliseconds(1))
            return
        }
        perform(conn.session.tick(now: .now - conn.opened, limit: Self.timersPerTick), on: conn)
    }

    /// Raw frames of one burst logged one by one; the rest of a flood gets one `_sim.raw_more`
    /// line (a line per flood frame made the simulator, not the client, the bottleneck).
    private static let rawFramesLogged = 10

    /// Carries out a session's actions in order, logs them, then re-arms its timer.
    private func perform(_ actions: [SimAction], on conn: Connection) {
        let id = conn.id
        var rawRun = 0
        for a in actions {
            if case .sendRaw = a {} else { endRawRun(&rawRun, on: id) }
            switch a {
            case .send(let e):
                let json = e.json
                server.send(connectionID: id, text: json.serialized())
                eventLog.write(conn: id, dir: "server", event: .object(json))
            case .sendRaw(let text):
                server.sendRaw(connectionID: id, text: text)
                rawRun += 1
                if rawRun <= Self.rawFramesLogged {
                    eventLog.write(conn: id, dir: "server", event: EventLog.pseudo("_sim.raw", [
                        ("bytes", .int(Int64(text.utf8.count))), ("head", .string(String(text.prefix(120)))),
                    ]))
                }
            case .close(let code, let reason):
                server.close(connectionID: id, code: code, reason: reason)
                eventLog.write(conn: id, dir: "server", event: EventLog.pseudo("_ws.close", [
                    ("code", .int(Int64(code))), ("reason", .string(reason)),
                ]))
            case .sendMessage(let m):
                server.send(connectionID: id, payload: m.payload, binary: m.binary, fragmentBytes: m.fragmentBytes,
                            gapMs: m.gapMs)
                eventLog.write(conn: id, dir: "server", event: EventLog.pseudo("_sim.message", [
                    ("bytes", .int(Int64(m.payload.count))), ("binary", .bool(m.binary)),
                    ("fragment_bytes", m.fragmentBytes.map { .int(Int64($0)) } ?? .null),
                    ("gap_ms", .int(Int64(m.gapMs))),
                ]))
            case .reset:
                // After what this session already sent: "reset after session.created" means it arrived.
                server.reset(connectionID: id, afterQueued: true)
                eventLog.write(conn: id, dir: "server", event: EventLog.pseudo("_ws.reset"))
            case .stall:
                eventLog.write(conn: id, dir: "sim", event: EventLog.pseudo("_sim.stall"))
            case .faultFired(let kind):
                logger.info("connection \(id): fault \(kind.rawValue)")
                eventLog.write(conn: id, dir: "sim", event: EventLog.pseudo("_sim.fault", [("fault", .string(kind.rawValue))]))
            case .imageReceived(let image):
                logger.info("connection \(id): image \(image.summary)")
                eventLog.write(conn: id, dir: "sim", event: SimImageLog.event(image))
            }
        }
        endRawRun(&rawRun, on: id)
        arm(conn)
    }

    private func endRawRun(_ run: inout Int, on id: Int) {
        if run > Self.rawFramesLogged {
            eventLog.write(conn: id, dir: "server", event: EventLog.pseudo("_sim.raw_more", [
                ("frames", .int(Int64(run - Self.rawFramesLogged))),
            ]))
        }
        run = 0
    }

    private func arm(_ conn: Connection) {
        guard let deadline = conn.session.nextDeadline else {
            conn.timer?.cancel()
            conn.timer = nil
            return
        }
        let wait = deadline - (.now - conn.opened)
        let nanos = max(0, wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000)
        let timer: DispatchSourceTimer
        if let t = conn.timer {
            timer = t
        } else {
            timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [weak self, weak conn] in
                guard let self, let conn else { return }
                self.tick(conn)
            }
            timer.resume()
            conn.timer = timer
        }
        timer.schedule(deadline: .now() + .nanoseconds(Int(nanos)), leeway: .microseconds(500))
    }
}
