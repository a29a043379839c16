import OmniCore

// What the audio thread sees of its stream plan (AudioStreamPlan.swift builds it): plain values
// and pointers only, so the loop touches no reference-counted object (AudioRTLoop.swift, rule 4).

enum RTCaptureDevice {
    case alsa(OpaquePointer)
    case file(UnsafeMutablePointer<FileCaptureState>)
}

enum RTPlaybackDevice {
    case alsa(OpaquePointer)
    case file(UnsafeMutablePointer<FilePlaybackState>)
}

struct EarconSlot {
    var samples: UnsafePointer<Int16>?
    var count: Int
}

/// The buffers of a flush's fade-out (AudioRTLoop+Fade.swift).
struct RTFade {
    /// Answer audio of the latest periods built, at device position & historyMask; holds the
    /// device buffer plus a period (what a rewind can take back).
    var history: UnsafeMutablePointer<Int16>
    var historyMask: Int
    /// The answer carried on under the ramp; `frames` samples.
    var source: UnsafeMutablePointer<Int16>
    /// The fade's length: 10 ms at the playback rate.
    var frames: Int
}

/// Everything one stream plan's audio thread needs: plain values and pointers.
struct RTStreamPlan {
    var shared: UnsafeMutablePointer<AudioShared>
    /// The engine's eventfd: written to wake the monitor thread (AudioRTLoop+Wake.swift).
    var wakeFD: Int32
    /// Written by the engine's callers when they ask the loop for something (playback, an
    /// earcon, a flush, timely capture, stop): ends a coast early (AudioRTClock.swift).
    var kickFD: Int32
    var captureRing: SPSCRingView
    var playbackRing: SPSCRingView
    /// What the speaker is given, period by period (the echo reference); nil: not wanted.
    var referenceRing: SPSCRingView?
    /// The simulated room of `[audio] room` (file backend); owned by the stream plan, reached
    /// unretained (AudioRTLoop+Reference.swift).
    var room: Unmanaged<RoomSimulator>?

    var capture: RTCaptureDevice
    var captureFormat: DeviceSampleFormat
    var captureChannels: Int
    var capturePeriod: Int
    var captureRate: Int

    var playback: RTPlaybackDevice
    var playbackFormat: DeviceSampleFormat
    var playbackChannels: Int
    var playbackPeriod: Int
    var playbackBuffer: Int
    /// How far past its one-period buffer a `file:` speaker may be written while the rest of
    /// the answer is known (AudioRTLoop+Ahead.swift); 0: never (ALSA devices).
    var writeAheadFrames: Int
    var playbackRate: Int

    var captureRaw: UnsafeMutableRawPointer
    var captureMono: UnsafeMutablePointer<Int16>
    var playbackMono: UnsafeMutablePointer<Int16>
    var playbackRaw: UnsafeMutableRawPointer
    var earcons: UnsafeMutablePointer<EarconSlot>
    var fade: RTFade
    /// With write-ahead: every period built, as the device got it, by device position &
    /// tapHistoryMask, until it is fed to the echo reference and the room at its own time.
    var tapHistory: UnsafeMutablePointer<Int16>
    var tapHistoryMask: Int

    var prerollFrames: Int
    /// > 0: sleep each iteration to a deadline, at this multiple of real time.
    var pacingSpeed: Double
    /// Playback timing from the loop's clock instead of the device (file, null).
    var virtualPlayback: Bool
    var waitTimeoutMs: Int32
    var stallTimeoutNanos: Int
    /// Bytes of its stack the audio thread pre-faults and locks before its loop (0: pre-fault
    /// 64 KiB, lock nothing).
    var lockStackBytes: Int

    /// Request serials already seen when the plan was created (off the audio thread):
    /// anything requested later — even before the thread first runs — is acted on.
    var seenFlushSerial = 0
    var seenDrainSerial = 0
    var seenEarconSerial = 0
    var cancelDrainsUpTo = 0
}
