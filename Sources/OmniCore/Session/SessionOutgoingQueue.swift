// The session manager's outgoing queue. Messages are encoded when queued and leave in queue
// order. Audio and image appends may be dropped (oldest first) to bound the queue; control
// events and the audio of a re-sent turn never are, so control events keep their order among
// themselves and relative to the audio that survives around them.
//
// The queue belongs to one link: what is still in it when that link ends (lost, closed, renewed)
// is discarded, never sent into the next session (SessionManager.discardStaleQueue). Only what
// is queued after the end goes to the next link.

struct SessionOutgoingQueue {
    enum Kind: Equatable {
        case audio
        case image
        /// commit, clear, response.create/cancel, session.finish, …
        case control
        /// `session.update`: a control event that a reconnect makes redundant (the current config
        /// is always sent first on a new connection).
        case sessionUpdate
        /// Audio of a turn re-sent whole on a new link (and the live audio queued behind it): never
        /// dropped; paced by the transport (`.writable`).
        case resend
        /// `response.create`: held while an earlier response is still active (SessionManager+Responses).
        case responseCreate
        /// `response.cancel`: decided when it reaches the head of the queue (send, defer or drop).
        case responseCancel
    }

    struct Message {
        var kind: Kind
        var eventID: String
        var type: String
        var text: String
    }

    private(set) var messages: [Message] = []
    private(set) var audioCount = 0
    private(set) var imageCount = 0
    private(set) var resendCount = 0

    var isEmpty: Bool { messages.isEmpty }
    var count: Int { messages.count }
    var first: Message? { messages.first }

    mutating func append(_ m: Message) {
        messages.append(m)
        adjust(m.kind, by: 1)
    }

    @discardableResult
    mutating func removeFirst() -> Message {
        let m = messages.removeFirst()
        adjust(m.kind, by: -1)
        return m
    }

    /// Removes the oldest message of `kind` (audio or image), if any.
    mutating func dropOldest(_ kind: Kind) -> Message? {
        guard let i = messages.firstIndex(where: { $0.kind == kind }) else { return nil }
        let m = messages.remove(at: i)
        adjust(kind, by: -1)
        return m
    }

    /// Puts `m` ahead of everything queued.
    mutating func prepend(_ m: Message) {
        messages.insert(m, at: 0)
        adjust(m.kind, by: 1)
    }

    /// Removes the newest message of `kind`, if any.
    mutating func removeNewest(_ kind: Kind) -> Message? {
        guard let i = messages.lastIndex(where: { $0.kind == kind }) else { return nil }
        let m = messages.remove(at: i)
        adjust(kind, by: -1)
        return m
    }

    func contains(_ kind: Kind) -> Bool { messages.contains { $0.kind == kind } }

    /// Removes every queued message of `kind`; returns how many.
    @discardableResult
    mutating func removeAll(ofKind kind: Kind) -> Int {
        let before = messages.count
        messages.removeAll { $0.kind == kind }
        let n = before - messages.count
        adjust(kind, by: -n)
        return n
    }

    mutating func removeAll() {
        messages.removeAll()
        audioCount = 0
        imageCount = 0
        resendCount = 0
    }

    private mutating func adjust(_ kind: Kind, by n: Int) {
        switch kind {
        case .audio: audioCount += n
        case .image: imageCount += n
        case .resend: resendCount += n
        case .control, .sessionUpdate, .responseCreate, .responseCancel: break
        }
    }
}
