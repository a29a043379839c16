import OmniCore

// A capture file for the `file:` backend. Properties of a decoded file: whole frames only, and
// encoding it (16-bit PCM, as the playback side writes) decodes back to the same audio.
enum WAVFuzz {
    static func run(_ bytes: UnsafeBufferPointer<UInt8>) throws(FuzzFinding) {
        let audio: WAVAudio
        do { audio = try WAV.decode(bytes) } catch { return }
        guard audio.channels > 0, audio.samples.count % audio.channels == 0 else {
            throw FuzzFinding(.wav, "\(audio.samples.count) samples is not a whole number of \(audio.channels)-channel frames")
        }
        let again: WAVAudio
        do { again = try WAV.decode(WAV.encode(audio)) } catch {
            throw FuzzFinding(.wav, "re-encoded audio does not decode: \(error)")
        }
        guard again == audio else {
            throw FuzzFinding(.wav, "encode/decode changes the audio (\(audio.sampleRate) Hz, \(audio.channels) ch, "
                + "\(audio.samples.count) samples → \(again.sampleRate) Hz, \(again.channels) ch, \(again.samples.count))")
        }
    }
}
