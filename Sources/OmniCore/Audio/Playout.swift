// Playout policy for answer audio, decided once per device period on the audio thread.
// A value type with no references and no allocation: the audio loop owns one and feeds it
// positions; it answers how many samples to take from the playback ring this period.
//
//  - Pre-roll: after silence (start, underrun, end of answer, flush) playback waits until
//    `prerollFrames` samples are queued, so network jitter does not immediately starve it.
//    An answer whose end is already known starts at once even if it is shorter.
//  - Underrun: the ring runs dry mid-answer → the rest of the period is silence, the underrun
//    is reported (the loop counts it) and playout goes back to pre-rolling.
//  - End of answer (drain): the controller marks the ring position where the answer ends.
//    Playout plays exactly up to that position, pads the period with silence (no underrun),
//    and then waits until the device reports it has *played* that last sample before saying
//    "drained" — nothing is cut, and the event does not come early.
//  - Flush (barge-in): forget the answer end and any pending drain, back to pre-rolling. The
//    loop itself drops the ring contents and the device buffer.
//
// Positions are absolute: ring positions count samples ever written to the playback ring,
// device positions count frames ever written to / played by the device in this session.

public struct Playout: Sendable, Equatable {
    public enum Phase: UInt8, Sendable, Equatable {
        case buffering
        case playing
    }

    public struct Plan: Sendable, Equatable {
        /// Samples to read from the ring this period (≤ period); the rest is silence.
        public var take: Int
        /// The ring ran dry mid-answer this period.
        public var underrun: Bool
        /// The answer's last sample is within this period (or the end was reached while idle).
        public var answerEnded: Bool

        public init(take: Int, underrun: Bool, answerEnded: Bool) {
            self.take = take
            self.underrun = underrun
            self.answerEnded = answerEnded
        }
    }

    public let prerollFrames: Int
    public private(set) var phase: Phase = .buffering
    /// Ring position where the current answer ends, once the controller said so.
    public private(set) var answerEnd: Int?
    /// Device position the device must have played for the pending drain to be complete.
    public private(set) var pendingDrainAt: Int?

    public init(prerollFrames: Int) {
        self.prerollFrames = max(0, prerollFrames)
    }

    /// The controller ended the answer at ring position `position`.
    public mutating func endOfAnswer(at position: Int) {
        answerEnd = position
    }

    /// Barge-in: forget the answer and any pending drain.
    public mutating func flush() {
        phase = .buffering
        answerEnd = nil
        pendingDrainAt = nil
    }

    /// Decides one period. `readPosition`/`available` describe the ring, `periodFrames` the
    /// device period, `deviceWritePosition` how many frames were written to the device before
    /// this period.
    public mutating func plan(readPosition: Int, available: Int, periodFrames: Int,
                              deviceWritePosition: Int) -> Plan {
        var limit = available
        if let end = answerEnd { limit = max(0, min(available, end - readPosition)) }

        if phase == .buffering {
            if let end = answerEnd {
                if end <= readPosition {
                    // Nothing (more) of this answer to play: it ends here.
                    answerEnd = nil
                    pendingDrainAt = deviceWritePosition
                    return Plan(take: 0, underrun: false, answerEnded: true)
                }
                phase = .playing  // the whole rest is known: no reason to wait
            } else if available >= prerollFrames && available > 0 {
                phase = .playing
            } else {
                return Plan(take: 0, underrun: false, answerEnded: false)
            }
        }

        let take = min(periodFrames, limit)
        if take == periodFrames {
            if let end = answerEnd, readPosition + take >= end {
                answerEnd = nil
                phase = .buffering
                pendingDrainAt = deviceWritePosition + take
                return Plan(take: take, underrun: false, answerEnded: true)
            }
            return Plan(take: take, underrun: false, answerEnded: false)
        }
        phase = .buffering
        if let end = answerEnd, readPosition + take >= end {
            answerEnded(at: deviceWritePosition + take)
            return Plan(take: take, underrun: false, answerEnded: true)
        }
        return Plan(take: take, underrun: true, answerEnded: false)
    }

    private mutating func answerEnded(at devicePosition: Int) {
        answerEnd = nil
        pendingDrainAt = devicePosition
    }

    /// Reports whether the pending drain completed, given how far the device has played.
    /// Returns true once per drain.
    public mutating func drainCompleted(devicePlayedPosition: Int) -> Bool {
        guard let target = pendingDrainAt, devicePlayedPosition >= target else { return false }
        pendingDrainAt = nil
        return true
    }

    public var hasPendingDrain: Bool { pendingDrainAt != nil }
}
