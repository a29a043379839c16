import ArgumentParser
import Dispatch
import Logging
import OmniWebSocket
import OmniSystem
import SimulatorCore

#if canImport(Glibc)
import Glibc
#endif

/// A local stand-in for the Qwen-Omni-Realtime service (protocol page §11).
@main
struct OmniSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omni-sim",
        abstract: "A protocol-faithful local stand-in for the Qwen-Omni-Realtime WebSocket service.",
        // One line per paragraph: ArgumentParser wraps lines but keeps every newline.
        discussion: [
            "Serves ws(s)://HOST:PORT/api-ws/v1/realtime?model=… and prints \"omni-sim listening on HOST:PORT\" "
                + "once bound (use port 0 for a free one).",
            "Faults per connection: add fault=NAME (and fault_* parameters) to the URL's query, or write the "
                + "same query string into --fault-file before connecting (or give it with --fault). Names: "
                + FaultKind.allCases.map(\.rawValue).joined(separator: ", ") + ".",
            "Parameters: fault_connection=K (only the K-th connection), fault_response=K, fault_after_deltas=N, "
                + "fault_at_ms=T, fault_code=C, fault_close=0|1, fault_status=S, fault_bytes=B, fault_fragment=B "
                + "(payload bytes per frame), fault_gap_ms=T, fault_count=N, fault_flood=malformed|unknown|error, "
                + "fault_depth=D.",
            "Hostile faults (issue 16), sent before the answer unless noted: flood (fault_count events, default "
                + "20000, of fault_flood kind, each padded to fault_bytes), invalid_utf8 (a text frame that is not "
                + "UTF-8), invalid_base64 (the answer's audio deltas, or its first fault_count, are not Base64 PCM), "
                + "deep_nesting (arrays fault_depth deep, default 100000), binary_frames (fault_count binary "
                + "messages of fault_bytes, default 100 of 1024), slow_loris (a fault_bytes event, default 256, in "
                + "frames of fault_fragment bytes, default 1, fault_gap_ms apart, default 10), oversize_frame "
                + "(fault_bytes, default 5 MiB, in frames of fault_fragment if given), reset_before_created, "
                + "reset_after_created, reset_mid_answer, reset_after_done (TCP RST at that point, after what "
                + "was sent before it).",
        ].joined(separator: "\n\n"))

    @Option(help: "host:port to listen on ([::1]:port for IPv6; port 0 = any free port).")
    var listen = "127.0.0.1:0"

    @Option(name: .customLong("api-key"), help: "Require exactly this Bearer key (default: any non-empty key).")
    var apiKey: String?

    @Option(help: "Answers: echo (the user's audio at 24 kHz), tone, describe (names the turn's images), or script:FILE.")
    var answer = "echo"

    @Option(help: "Write every event received and sent as JSON Lines to this file.")
    var log: String?

    @Option(name: .customLong("log-audio"), help: "Keep Base64 audio/image payloads in the log (false: byte counts).")
    var logAudio = true

    @Option(name: .customLong("tls-cert"), help: "PEM certificate: serve wss instead of ws.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Answer streaming speed as a multiple of real time; 0 = burst.")
    var speed = 4.0

    @Option(name: .customLong("first-delta-ms"), help: "Delay from response.created to the first delta.")
    var firstDeltaMs = 200.0

    @Option(name: .customLong("delta-ms"), help: "Audio per response.audio.delta, in ms.")
    var deltaMs = 100

    @Option(name: .customLong("response-delay-ms"), help: "Delay from the trigger to response.created.")
    var responseDelayMs = 20.0

    @Option(name: .customLong("idle-timeout-s"), help: "Close after this long without a response (0 = never).")
    var idleTimeoutS = 300.0

    @Option(name: .customLong("max-session-s"), help: "Close sessions at this age (0 = never).")
    var maxSessionS = 7200.0

    @Option(name: .customLong("close-code"), help: "Close code of graceful server closes.")
    var closeCode = 1000

    @Option(name: .customLong("tone-hz"), help: "Tone answer frequency.")
    var toneHz = 440.0

    @Option(name: .customLong("tone-ms"), help: "Tone answer length.")
    var toneMs = 1000

    @Option(name: .customLong("tone-amplitude"), help: "Tone answer peak amplitude (of 32767).")
    var toneAmplitude = 8000.0

    @Option(name: .customLong("vad-min-speech-ms"), help: "Speech must last this long before speech_started.")
    var vadMinSpeechMs = 100

    @Option(name: .customLong("image-min-interval-ms"), help: "Refuse an image closer than this to the previous one.")
    var imageMinIntervalMs = 250.0

    @Option(name: .customLong("user-transcript"), help: "Text of input transcriptions (default: the audio length).")
    var userTranscript: String?

    @Option(name: .customLong("fault-file"), help: "Control file read at each connection: a fault query string.")
    var faultFile: String?

    @Option(help: "Fault query string for connections whose URL names none (e.g. fault=rate_limit).")
    var fault: String?

    @Flag(name: .customLong("cancel-emits-response-done"), help: "Send response.done (cancelled) after a cancel/barge-in.")
    var cancelEmitsResponseDone = false

    @Flag(name: .customLong("no-stray-delta"), help: "No in-flight audio delta after a server-side barge-in.")
    var noStrayDelta = false

    @Flag(name: .customLong("no-manual-transcription"), help: "No input transcription in manual mode.")
    var noManualTranscription = false

    @Flag(name: .customLong("no-session-finish"), help: "Reject session.finish as an unknown event type.")
    var noSessionFinish = false

    @Option(name: .customLong("reject-output-format"), help: "Refuse this output_audio_format in session.update (pcm24 or pcm16; repeatable).")
    var rejectOutputFormat: [String] = []

    @Option(help: "Seed for ids (reproducible runs); default random.")
    var seed: UInt64?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if speed < 0 { throw ValidationError("--speed must be >= 0") }
        if deltaMs < 10 { throw ValidationError("--delta-ms must be >= 10") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        _ = try listenAddress()
    }

    func listenAddress() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw ValidationError("--listen must be host:port") }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func answerSource() throws -> AnswerSource {
        switch answer {
        case "echo": return .echo
        case "tone": return .tone(ToneSpec(frequencyHz: toneHz, amplitude: toneAmplitude, durationMs: toneMs))
        case "describe": return .describe
        case let s where s.hasPrefix("script:"): return .script(try loadScript(String(s.dropFirst(7))))
        default: throw ValidationError("--answer must be echo, tone, describe or script:FILE")
        }
    }

    func loadScript(_ path: String) throws -> [ScriptAnswer] {
        guard let text = FileIO.readText(path) else { throw ValidationError("cannot read script \(path)") }
        return try ScriptFile.parse(text).map { e in
            var audio = ScriptFile.silence(for: e.transcript)
            if let a = e.audioPath {
                let full = FileIO.resolve(a, relativeTo: path)
                guard let bytes = FileIO.readBytes(full) else { throw ValidationError("cannot read audio \(full)") }
                audio = ScriptFile.samples(fromRaw: bytes)
            }
            return ScriptAnswer(transcript: e.transcript, audio: audio, userTranscript: e.userTranscript)
        }
    }

    func simOptions() throws -> SimOptions {
        var o = SimOptions()
        o.answer = try answerSource()
        o.speed = speed
        o.firstDeltaMs = firstDeltaMs
        o.deltaMs = deltaMs
        o.responseDelayMs = responseDelayMs
        o.idleTimeoutS = idleTimeoutS
        o.maxSessionS = maxSessionS
        o.closeCode = closeCode
        o.cancelEmitsResponseDone = cancelEmitsResponseDone
        o.strayDeltaOnInterrupt = !noStrayDelta
        o.transcriptionInManualMode = !noManualTranscription
        o.sessionFinishSupported = !noSessionFinish
        o.vadMinSpeechMs = vadMinSpeechMs
        o.userTranscript = userTranscript
        o.rejectedOutputFormats = Set(rejectOutputFormat)
        o.imageMinIntervalMs = imageMinIntervalMs
        o.decodeImage = SimImageLog.decode
        return o
    }

    func run() throws {
        OmniLogging.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "omni-sim")
        let start = ContinuousClock.now
        let (host, port) = try listenAddress()
        if let f = fault {
            // Fail early on a typo rather than at the first connection.
            _ = try FaultPlan.resolve(query: [], controlFile: f)
        }
        let settings = SimServer.Settings(
            host: host, port: port, tlsCertificate: tlsCert, tlsKey: tlsKey, policy: HandshakePolicy(apiKey: apiKey),
            options: try simOptions(), faultFile: faultFile, defaultFault: fault,
            seed: seed ?? UInt64.random(in: 0...UInt64.max))
        let server = SimServer(settings: settings, eventLog: try EventLogWriter(path: log, logAudio: logAudio, start: start),
                               logger: logger)
        let bound = try server.start()
        print("omni-sim listening on \(host.contains(":") ? "[\(host)]" : host):\(bound)")
        fflush(nil)  // all streams: tests read the port from a pipe
        let signalSources = Signals.stopOnTermination { server.stop() }
        withExtendedLifetime(signalSources) { dispatchMain() }
    }
}

/// SIGINT/SIGTERM: stop serving (every close is logged), then exit 0.
enum Signals {
    /// The sources must stay alive as long as the process serves.
    static func stopOnTermination(_ stop: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                stop()
                exit(0)
            }
            s.resume()
            return s
        }
    }
}
