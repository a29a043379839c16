import OmniCore
import Synchronization

// Audio thread, the echo reference and the simulated room (docs/echo-cancellation.md).
//
// Reference tap: every period handed to the playback device, as the device gets it (after the
// earcon is mixed and the volume applied, before up-mixing), is copied into the reference ring
// — silence included, so the reference never stops and runs on the playback device's clock.
// The controller's capture pump drains it next to the capture ring and feeds the echo
// canceller (or the half-duplex gate) with it; the two rings are written in the same loop
// iteration, so their sample counts stay in step. Whatever would break that step is counted in
// `referenceDiscontinuities` (a full reference ring; xruns and device reopens are counted where
// they happen) and the consumer starts its echo path over.
//
// The room (`[audio] room`, `file:` devices only): the period played is also what the
// simulated speaker plays (`RoomSimulator.play`), and each captured period gets the room's
// echo added (`RoomSimulator.capture`), so the virtual board hears itself.
//
// The RULES in AudioRTLoop.swift hold: a memcpy into a preallocated ring and the room's
// preallocated convolution; the room is reached unretained (no reference counting here), and
// its methods do not allocate (EchoAllocationTests, AudioRTAllocationTests).

extension AudioLoop {
    /// After `fillPeriod`: the period in `playbackMono` goes to the room's speaker and into the
    /// reference ring.
    mutating func tapPlayedPeriod() {
        let period = s.playbackPeriod
        if let room = s.room {
            room._withUnsafeGuaranteedRef { $0.play(UnsafeBufferPointer(start: s.playbackMono, count: period)) }
        }
        guard let ring = s.referenceRing else { return }
        // The capture period of this iteration was dropped (read before a discard while
        // catching up after a coast): drop its reference too, so both streams stay in step.
        if captureReadBeforeDiscard { return }
        let written = ring.write(s.playbackMono, count: period)
        if written < period {
            s.shared.pointee.referenceOverflowFrames.wrappingAdd(period - written, ordering: .relaxed)
        }
    }

    /// After a capture period was read and downmixed: the room's echo of what was played, added
    /// to the microphone (file backend with a room only).
    @inline(__always) func addRoomEcho(frames: Int) {
        guard let room = s.room else { return }
        room._withUnsafeGuaranteedRef { $0.capture(into: UnsafeMutableBufferPointer(start: s.captureMono, count: frames)) }
    }

    /// When the newest capture period was read (its nominal time when clock-paced): the look-back
    /// discard needs to know how far behind "now" the ring is after a coast.
    @inline(__always) func noteCaptureTime() {
        let t = s.pacingSpeed > 0 ? deadline(of: iteration - 1) : monotonicNanos()
        s.shared.pointee.captureNewestNanos.store(t, ordering: .relaxed)
    }
}
