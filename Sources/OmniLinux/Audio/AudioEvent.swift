// What the engine tells its owner, through `onEvent` on the monitor thread
// (AudioEngine+Monitor.swift turns the audio thread's counters into these).

public enum AudioEvent: Sendable, Equatable, CustomStringConvertible {
    /// A device failed (unplugged, error, stall); the engine reopens it every reopenInterval.
    case deviceLost(direction: AudioDirection, reason: String)
    /// Devices are open again (also sent when the first open succeeds after start(waitForDevice:)).
    case deviceBack(capture: AudioDeviceFormat, playback: AudioDeviceFormat)
    /// Everything queued before endOfAnswer() has been played (or discarded by a device loss).
    case playbackDrained
    /// An ALSA over/underrun was recovered; `total` counts this direction's xruns so far.
    case xrun(direction: AudioDirection, total: Int)
    /// Answer audio ran dry mid-answer; silence was played. `total` so far.
    case underrun(total: Int)
    /// Captured audio the owner asked for (`setCaptureInterest(.wake(afterSamples:))`) can be read.
    case captureReady
    /// The audio thread played the first answer frame after `watchAnswerStart()` returned
    /// `generation` (a later watch supersedes an earlier one).
    case answerStarted(generation: Int)

    public var description: String {
        switch self {
        case .deviceLost(let d, let reason): "audio \(d.rawValue) device lost: \(reason)"
        case .deviceBack(let c, let p): "audio devices back: capture \(c), playback \(p)"
        case .playbackDrained: "playback drained"
        case .xrun(let d, let total): "\(d.rawValue) xrun (total \(total))"
        case .underrun(let total): "playback underrun (total \(total))"
        case .captureReady: "captured audio ready"
        case .answerStarted(let generation): "answer started playing (watch \(generation))"
        }
    }
}
