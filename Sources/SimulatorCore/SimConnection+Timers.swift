import RealtimeProtocol

// Timed output: answer streaming, late transcriptions, idle and session-length closes, faults.
extension SimConnection {
    enum Timer { case close, fault, maxSession, responseHeader, responseChunk, idle, transcription }

    /// When `tick` next has something to do (time since the socket opened), nil when nothing is planned.
    public var nextDeadline: Duration? { nextTimer()?.at }

    /// What is due at or before `now`, in time order: everything, or the first `limit` timers
    /// (the rest stays due, and `nextDeadline` says so). A server that fell behind (a flood on a
    /// loaded machine) sends in slices this way, as a real one streams, instead of computing
    /// seconds of deltas before sending the first, which a client rightly takes for a stalled answer.
    public func tick(now: Duration, limit: Int = .max) -> [SimAction] {
        var out: [SimAction] = []
        var fired = 0
        while fired < limit, let (at, timer) = nextTimer(), at <= now {
            fire(timer, at: at, into: &out)
            fired += 1
        }
        return out
    }

    func nextTimer() -> (at: Duration, timer: Timer)? {
        guard !isClosed, !isStalled else { return nil }
        if let c = pendingClose { return (c.at, .close) }
        var best: (at: Duration, timer: Timer)?
        func consider(_ t: Duration, _ k: Timer) {
            if best == nil || t < best!.at { best = (t, k) }
        }
        if let f = fault, !faultDone, let at = f.atMs { consider(.milliseconds(at), .fault) }
        if options.maxSessionS > 0 { consider(.ms(options.maxSessionS * 1000), .maxSession) }
        if let r = response {
            if r.headerSent { consider(r.due(r.nextChunk), .responseChunk) } else { consider(r.startAt, .responseHeader) }
        } else if !queuedAutoResponse && options.idleTimeoutS > 0 {
            consider(lastActivity + .ms(options.idleTimeoutS * 1000), .idle)
        }
        if let p = pendingTranscription { consider(p.due, .transcription) }
        return best
    }

    private func fire(_ timer: Timer, at t: Duration, into out: inout [SimAction]) {
        switch timer {
        case .close:
            let c = pendingClose!
            pendingClose = nil
            isClosed = true
            out.append(.close(code: c.code, reason: c.reason))
        case .fault:
            _ = fireFault(fault!, at: t, into: &out)
        case .maxSession:
            out.append(error(SimError.sessionExpired(seconds: Int(options.maxSessionS))))
            scheduleClose(at: t, code: options.closeCode)
        case .responseHeader:
            emitHeader(response!, at: t, into: &out)
        case .responseChunk:
            emitChunk(response!, at: t, into: &out)
        case .idle:
            out.append(error(SimError.idleTimeout(seconds: Int(options.idleTimeoutS))))
            scheduleClose(at: t, code: options.closeCode)
        case .transcription:
            flushTranscription(into: &out)
        }
    }

    /// Carries out `f`. Returns false when the current answer must not go on.
    func fireFault(_ f: FaultPlan, at t: Duration, into out: inout [SimAction]) -> Bool {
        faultDone = true
        out.append(.faultFired(f.kind))
        switch f.kind {
        case .closeMidAnswer:
            isClosed = true
            out.append(.close(code: f.effectiveCloseCode, reason: ""))
            return false
        case .resetMidAnswer:
            isClosed = true
            out.append(.reset)
            return false
        case .stallMidAnswer:
            isStalled = true
            out.append(.stall)
            return false
        case .rateLimit, .internalError:
            out.append(error(f.kind == .rateLimit ? SimError.rateLimited : SimError.internalError))
            if f.closeAfterError { scheduleClose(at: t, code: f.effectiveCloseCode) }
            return false
        case .malformedJSON:
            out.append(.sendRaw(#"{"event_id":"\#(ids.event())","type":"response.audio.delta","delta":"AAAAAAAA"#))
            return true
        case .oversizeFrame:
            let head = #"{"event_id":"\#(ids.event())","type":"sim.oversize","padding":""#
            let tail = #""}"#
            let pad = max(0, f.bytes - head.utf8.count - tail.utf8.count)
            let text = head + String(repeating: "A", count: pad) + tail
            if let fragment = f.fragmentBytes {
                out.append(.sendMessage(RawMessage(payload: Array(text.utf8), fragmentBytes: fragment)))
            } else {
                out.append(.sendRaw(text))
            }
            return true
        case .sessionCap:
            let seconds = (f.atMs ?? 0) / 1000
            out.append(error(SimError.sessionExpired(seconds: seconds)))
            scheduleClose(at: t, code: f.effectiveCloseCode)
            return false
        case .authReject:
            // Decided at the handshake; nothing to do on an open socket.
            return true
        case .flood, .invalidUTF8, .deepNesting, .binaryFrames, .slowLoris:
            sendHostile(f, into: &out)
            return true
        case .invalidBase64:
            // The deltas are spoiled as they go out (`audioDelta`); a timed firing changes nothing.
            return true
        case .resetBeforeCreated, .resetAfterCreated, .resetAfterDone:
            isClosed = true
            out.append(.reset)
            return false
        }
    }
}
