// When the ready sound plays (ReadySound.swift): once for each new echo canceller — omnid's
// start, or a reload that changed the echo path (EchoPathIdentity) — in hands-free (`vad`)
// mode with cancellation running and `[audio] ready_sound = "auto"`, as soon as the
// microphone is streamed through that canceller (it learns only from what it hears: the
// controller feeds it only while streaming). Not in the button modes: there the canceller only
// hears the microphone while the button is held, never the speaker, and the start-up gate does
// not stand between the user and an answer. Not for a canceller kept over a reload (it has
// learnt the room). Independent of `earcons`: the sound is part of echo cancellation, and a
// user who silences the earcons still wants to talk over the first answer.

public struct ReadySoundCue: Sendable, Equatable {
    /// Whether this canceller still owes its ready sound.
    public private(set) var due: Bool

    /// The cue for a new echo path; `cancelling`: its canceller was made and runs.
    public init(setting: ReadySoundSetting, mode: InteractionMode, cancelling: Bool) {
        due = setting == .auto && mode == .vad && cancelling
    }

    /// True once, the first time it is asked while the microphone is `streaming`: play it now.
    public mutating func take(streaming: Bool) -> Bool {
        guard due, streaming else { return false }
        due = false
        return true
    }

    /// The canceller was dropped (its self-test failed: half duplex from then on).
    public mutating func cancel() { due = false }
}
