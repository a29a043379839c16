// What an echo canceller's learnt filter depends on: the speaker and the microphone (devices,
// rates, buffers, the simulated room between them) and the canceller's own settings. A reload
// that leaves these alone (voice, instructions, volume, earcons, look-back, …) keeps the
// canceller and what it has learnt; any change here starts a new one (docs/echo-cancellation.md).
// Volume is not part of it: the canceller's reference is tapped after the volume is applied.

public struct EchoPathIdentity: Sendable, Equatable {
    public var capture: String
    public var playback: String
    public var captureRate: Int?
    public var playbackRate: Int?
    public var periodMs: Int
    public var bufferPeriods: Int
    public var room: RoomSpec?
    public var filterMs: Int
    public var noiseSuppression: Bool
    public var cancelling: Bool
}

extension OmniConfig {
    public var echoPath: EchoPathIdentity {
        EchoPathIdentity(capture: audio.capture, playback: audio.playback, captureRate: audio.captureRate,
                         playbackRate: audio.playbackRate, periodMs: audio.periodMs, bufferPeriods: audio.bufferPeriods,
                         room: audio.room, filterMs: audio.echoFilterMs, noiseSuppression: audio.noiseSuppression,
                         cancelling: echoCancelActive)
    }
}
