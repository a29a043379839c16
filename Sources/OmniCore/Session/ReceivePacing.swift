// When the controller may leave the service's socket unread for a while (button modes only).
//
// The service sends an answer's audio faster than it plays (omni-sim's benchmark answers: a
// 100 ms delta every 25 ms), and reading each delta as it comes costs the controller a wake-up
// per delta: on a VM or a small board that wake-up, not the delta's decoding, is most of the
// answer's CPU. Once enough answer is queued for the speaker nothing received can change what
// plays next, so the controller may stop reading for a while and then take everything that
// arrived meanwhile in one wake-up (TCP keeps it; LWSClientTransport.holdReceiving).
//
// What keeps this invisible:
//  - a hold starts only with at least `minimumQueuedMs` queued, and lasts `marginMs` less than
//    what is queued (at most `maximumHoldMs`): the speaker never runs dry because of it;
//  - after a hold the socket is read until nothing is left in it (`caughtUp`, reported by the
//    transport) before the next hold may start: a server that sends faster than the controller
//    reads (a flood) is read without pause, as without pacing, and meets the answer's limits;
//  - anything the user does (a press, a flush, a cancel, a new turn) ends a hold at once
//    (`release`), and a press waits for the catch-up (Daemon+Receive.swift);
//  - never in `vad` mode: there the service's voice detection (barge-in by voice) must be heard
//    at once, and the caller does not use this.
// No clock: the phases change on events (a delta queued, the hold's timer, the catch-up).

public struct ReceivePacing: Sendable, Equatable {
    /// Answer audio queued before a hold may start.
    public static let minimumQueuedMs = 400
    /// What stays queued when a hold ends, at the least (the controller's own lateness).
    public static let marginMs = 250
    /// The longest hold (what a server's close or error may wait to be read).
    public static let maximumHoldMs = 1_000

    public enum Phase: Sendable, Equatable {
        /// Every message is read as it comes.
        case reading
        /// The socket is left unread.
        case holding
        /// A hold ended; the socket is read until nothing is left in it.
        case catchingUp
    }

    public private(set) var phase = Phase.reading
    /// Holds started so far.
    public private(set) var holds = 0

    public init() {}

    /// Answer audio was just queued; `queuedMs` is what waits for the speaker now. Returns how
    /// long to leave the socket unread, or nil to go on reading.
    public mutating func answerAudioQueued(queuedMs: Int) -> Duration? {
        guard phase == .reading, queuedMs >= Self.minimumQueuedMs else { return nil }
        phase = .holding
        holds += 1
        return .milliseconds(min(queuedMs - Self.marginMs, Self.maximumHoldMs))
    }

    /// The hold's time is up, or the user did something: read again, and catch up. True if a
    /// hold was under way (the caller releases the socket and asks to hear when it is read).
    @discardableResult
    public mutating func release() -> Bool {
        guard phase == .holding else { return false }
        phase = .catchingUp
        return true
    }

    /// Everything the service had sent when the hold ended has been read.
    public mutating func caughtUp() {
        if phase == .catchingUp { phase = .reading }
    }
}
