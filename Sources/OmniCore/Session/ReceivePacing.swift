// When the controller may leave the service's socket unread for a while (button modes only).
//
// The service sends an answer's audio faster than it plays (omni-sim's benchmark answers: a
// 100 ms delta every 25 ms), and reading each delta as it comes costs the controller a wake-up
// per delta: on a VM or a small board that wake-up, not the delta's decoding, is most of the
// answer's CPU. Once seconds of answer are queued for the speaker nothing received can change
// what plays next, so the controller may stop reading for a while and then take everything
// that arrived meanwhile in one wake-up (TCP keeps it; LWSClientTransport.holdReceiving).
//
// What keeps this invisible:
//  - a hold starts only with at least `minimumQueuedMs` queued, and lasts `marginMs` less than
//    what is queued (at most `maximumHoldMs`): the speaker never runs dry because of it;
//  - after a hold, what piled up is read before the next hold can start (`burst`);
//  - anything the user does (a press, a flush, a cancel, a new turn) ends a hold at once
//    (`release`): the service's reply to it is read as it comes;
//  - never in `vad` mode: there the service's voice detection (barge-in by voice) must be heard
//    at once, and the caller does not use this.
// Time comes from the caller (the loop's MonotonicClock), so tests drive it.

public struct ReceivePacing: Sendable, Equatable {
    /// Answer audio queued before a hold may start.
    public static let minimumQueuedMs = 400
    /// What stays queued when a hold ends, at the least (the controller's own lateness).
    public static let marginMs = 250
    /// The longest hold (what a server's close or error may wait to be read).
    public static let maximumHoldMs = 1_000
    /// After a hold: reading goes on this long before the next hold may start, so what arrived
    /// during the hold is all read (it is there at once: well under a millisecond a delta).
    public static let burst = Duration.milliseconds(20)

    /// A hold is under way.
    public private(set) var holding = false
    /// When the latest hold ended.
    private var resumedAt: Duration?
    /// Holds started so far.
    public private(set) var holds = 0

    public init() {}

    /// Answer audio was just queued; `queuedMs` is what waits for the speaker now. Returns how
    /// long to leave the socket unread, or nil to go on reading.
    public mutating func answerAudioQueued(queuedMs: Int, now: Duration) -> Duration? {
        guard !holding, queuedMs >= Self.minimumQueuedMs else { return nil }
        if let resumedAt, now - resumedAt < Self.burst { return nil }
        holding = true
        holds += 1
        return .milliseconds(min(queuedMs - Self.marginMs, Self.maximumHoldMs))
    }

    /// The hold's time is up, or the user did something (see above): read again. True if a
    /// hold was under way (the caller releases the socket).
    @discardableResult
    public mutating func release(now: Duration) -> Bool {
        guard holding else { return false }
        holding = false
        resumedAt = now
        return true
    }
}
