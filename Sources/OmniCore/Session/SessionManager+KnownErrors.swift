// Server `error` events the session manager answers by itself instead of reporting them: each
// one has a known cause and a known remedy, and none of them is the user's business.
//   - the announcement of a routine close (idle close, session cap): the close that follows is
//     quiet (SessionManager+Renewal);
//   - "Conversation already has an active response" for our create: sent again once, after
//     that response (SessionManager+Responses);
//   - `cannot_update_voice`: the voice takes effect in a new session, renewed between turns;
//   - a rejected `output_audio_format`: the service guide says "pcm24" ("only pcm24 is
//     supported"), the SDK samples send "pcm16". We send the guide's spelling; if the service
//     refuses it, the other one goes out once, the switch is logged once and kept for the life of
//     the process (the manager's), so there is no reconnect loop. Refused both ways, it is an
//     ordinary rejected config.

import Logging
import RealtimeProtocol

extension SessionManager {
    /// True when `d` was dealt with here and must not be reported.
    func absorbKnownError(_ d: ErrorDetail, at now: Duration) -> Bool {
        if absorbRoutineCloseNotice(d) { return true }
        if absorbActiveResponseRefusal(d, at: now) { return true }
        if d.code == "cannot_update_voice" {
            logger.notice("the service keeps the voice of a session that has produced audio; renewing between turns")
            requestRenewal(.reload)
            return true
        }
        return absorbFormatRejection(d)
    }

    /// The other spelling of the 24 kHz PCM output format.
    static func alternateOutputFormat(_ f: String) -> String? {
        switch f {
        case "pcm24": "pcm16"
        case "pcm16": "pcm24"
        default: nil
        }
    }

    private func absorbFormatRejection(_ d: ErrorDetail) -> Bool {
        let about = ((d.param ?? "") + " " + d.message).lowercased()
        guard !outputFormatSwitched, about.contains("output_audio_format"),
              let current = session.outputAudioFormat, let other = Self.alternateOutputFormat(current),
              state == .configuring || d.eventID.map(configEventIDs.contains) == true
        else { return false }
        outputFormatSwitched = true
        counters.formatFallbacks += 1
        logger.notice("the service refused output_audio_format \"\(current)\"; using \"\(other)\" from now on")
        session.outputAudioFormat = other
        if state == .configuring {
            // Our first update was refused: this one configures the session instead.
            let id = nextEventID()
            configEventIDs.insert(id)
            pendingConfigText = ClientEvent(eventID: id, .sessionUpdate(session)).encoded()
            sendPendingConfig()
        } else {
            enqueue(.sessionUpdate(session), kind: .sessionUpdate)
        }
        return true
    }

    /// A config replaced by a reload keeps the output format spelling the service took.
    func withLearnedFormat(_ config: SessionConfig) -> SessionConfig {
        guard outputFormatSwitched, let f = session.outputAudioFormat, config.outputAudioFormat != nil else { return config }
        var c = config
        c.outputAudioFormat = f
        return c
    }
}
