#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import Synchronization

// Audio thread, wake-ups: the loop is the only party that knows when there is work for the
// rest of the engine (captured audio someone asked for, room for queued answer audio, the
// first answer frame played, a counter that changed, a lost device), so it says so through
// the engine's eventfd instead of the others polling its atomics on a timer. Nothing else in
// the process then needs a periodic wake-up: with nobody listening and nothing playing, the
// audio thread (paced by the device) is the only thread that runs.
//
// A wake-up is one non-blocking 8-byte write(2) to the eventfd: a system call that neither
// allocates nor waits (EAGAIN when the counter is saturated means one is pending anyway), so
// it is allowed here. The RULES in AudioRTLoop.swift hold.
//
// Requests are one-shot positions armed by their owner (Int.max: none). The loop disarms one
// with a compare-exchange before it signals, so a request re-armed at the same moment is
// never lost: the exchange fails and the new position is checked next period.

extension AudioLoop {
    /// Makes the monitor thread's poll() return.
    @inline(__always) func wakeOwner() {
        var one: UInt64 = 1
        _ = write(s.wakeFD, &one, 8)
    }

    /// After a period went into the capture ring: the consumer (or the engine's trim) asked
    /// to hear once the ring's write position reaches the armed position.
    mutating func checkCaptureWake() {
        let sh = s.shared
        let at = sh.pointee.captureWakePosition.load(ordering: .acquiring)
        guard at != Int.max, s.captureRing.writePosition >= at else { return }
        if sh.pointee.captureWakePosition.compareExchange(expected: at, desired: Int.max, ordering: .relaxed).exchanged {
            sh.pointee.captureWakeups.wrappingAdd(1, ordering: .releasing)
            wakeOwner()
        }
    }

    /// After the playback ring was read: answer audio waits outside the ring, and enough room
    /// for it (or for a good part of it) has been freed.
    mutating func checkPlaybackRoom() {
        let sh = s.shared
        let at = sh.pointee.playbackRoomPosition.load(ordering: .acquiring)
        guard at != Int.max, s.playbackRing.readPosition >= at else { return }
        if sh.pointee.playbackRoomPosition.compareExchange(expected: at, desired: Int.max, ordering: .relaxed).exchanged {
            wakeOwner()
        }
    }

    /// Answer frames were just taken from the ring: the first ones since the controller armed
    /// a watch are "the answer started playing".
    mutating func noteAnswerFramesPlayed() {
        let sh = s.shared
        let armed = sh.pointee.answerStartArmed.load(ordering: .acquiring)
        if armed != sh.pointee.answerStartedGeneration.load(ordering: .relaxed) {
            sh.pointee.answerStartedGeneration.store(armed, ordering: .releasing)
            wakeOwner()
        }
    }
}
