// The session manager's single outgoing queue. Messages are encoded when queued and leave in
// queue order. Audio and image appends may be dropped (oldest first) to bound the queue; control
// events never are, so control events keep their order among themselves and relative to the
// audio that survives around them.

struct SessionOutgoingQueue {
    enum Kind: Equatable {
        case audio
        case image
        /// commit, clear, response.create/cancel, session.finish, …
        case control
        /// `session.update`: a control event that a reconnect makes redundant (the current config
        /// is always sent first on a new connection).
        case sessionUpdate
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

    /// Removes every queued message of `kind`; returns how many.
    @discardableResult
    mutating func removeAll(ofKind kind: Kind) -> Int {
        let before = messages.count
        messages.removeAll { $0.kind == kind }
        return before - messages.count
    }

    mutating func removeAll() {
        messages.removeAll()
        audioCount = 0
        imageCount = 0
    }

    private mutating func adjust(_ kind: Kind, by n: Int) {
        switch kind {
        case .audio: audioCount += n
        case .image: imageCount += n
        case .control, .sessionUpdate: break
        }
    }
}
