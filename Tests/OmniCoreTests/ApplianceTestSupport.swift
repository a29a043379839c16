import XCTest
@testable import OmniCore

/// Drives an ApplianceMachine with a test clock and records what it asked for.
struct ApplianceDriver {
    var machine: ApplianceMachine
    var now: Duration = .seconds(100)
    var log: [ApplianceAction] = []

    init(_ settings: ApplianceSettings) {
        machine = ApplianceMachine(settings: settings)
    }

    init(mode: InteractionMode, longPress: ApplianceGestureAction = .reconnect, doublePress: ApplianceGestureAction = .mute) {
        self.init(ApplianceSettings(mode: mode, longPressAction: longPress, doublePressAction: doublePress))
    }

    @discardableResult
    mutating func send(_ e: ApplianceEvent, after: Duration = .milliseconds(10)) -> [ApplianceAction] {
        now += after
        let a = machine.handle(e, at: now)
        log += a
        return a
    }

    @discardableResult
    mutating func press(after: Duration = .milliseconds(10)) -> [ApplianceAction] { send(.button(.press), after: after) }
    @discardableResult
    mutating func release(after: Duration = .milliseconds(10)) -> [ApplianceAction] { send(.button(.release), after: after) }
    @discardableResult
    mutating func tap(after: Duration = .milliseconds(10)) -> [ApplianceAction] {
        send(.button(.press), after: after) + send(.button(.release), after: .milliseconds(100))
            + send(.button(.tap), after: .zero)
    }
    @discardableResult
    mutating func server(_ s: ApplianceServerSignal, after: Duration = .milliseconds(10)) -> [ApplianceAction] {
        send(.server(s), after: after)
    }

    /// Fires the armed timer of `kind`, `after` from now (as the controller would).
    @discardableResult
    mutating func fire(_ kind: ApplianceTimer.Kind, after: Duration = .milliseconds(10)) -> [ApplianceAction] {
        guard let t = machine.armedTimers.first(where: { $0.kind == kind }) else {
            XCTFail("no \(kind) timer armed")
            return []
        }
        return send(.timer(t), after: after)
    }

    var state: ApplianceState { machine.state }
}

/// Named starting points: every state, plus variants that matter (an answer fully received, a
/// turn waiting for replay, an error from the audio device, a muted VAD box mid-answer).
enum ApplianceFixture: String, CaseIterable {
    case connecting, ready, listening, thinking, thinkingCreated, speaking, speakingEnded, muted, offline,
         offlineWithReplay, error, errorAudio, connectingAfterLoss,
         /// The session is being replaced quietly: at rest, with a turn held, with a sent turn.
         renewing, listeningRenewing, thinkingRenewing

    var state: ApplianceState {
        switch self {
        case .connecting, .connectingAfterLoss: .connecting
        case .ready, .renewing: .ready
        case .listening, .listeningRenewing: .listening
        case .thinking, .thinkingCreated, .thinkingRenewing: .thinking
        case .speaking, .speakingEnded: .speaking
        case .muted: .muted
        case .offline, .offlineWithReplay: .offline
        case .error, .errorAudio: .error
        }
    }

    func make(_ mode: InteractionMode) -> ApplianceDriver {
        var d = ApplianceDriver(mode: mode)
        func listen() {
            d.send(.linkReady)
            switch mode {
            case .pushToTalk: d.press()
            case .toggle: d.tap()
            case .vad: d.server(.speechStarted)
            }
        }
        func think() {
            listen()
            switch mode {
            case .pushToTalk: d.release(after: .seconds(1))
            case .toggle: d.tap(after: .seconds(1))
            case .vad: d.server(.speechStopped, after: .seconds(1))
            }
        }
        func speak() {
            think()
            d.server(.responseCreated(responseID: "r1"))
            d.server(.audioDelta(responseID: "r1", audioMs: 1000))
        }
        switch self {
        case .connecting: break
        case .ready: d.send(.linkReady)
        case .listening: listen()
        case .thinking: think()
        case .thinkingCreated:
            think()
            d.server(.responseCreated(responseID: "r1"))
        case .speaking: speak()
        case .speakingEnded:
            speak()
            d.server(.responseDone(responseID: "r1", status: "completed"))
        case .muted:
            d.send(.linkReady)
            d.press()
            d.release(after: .milliseconds(50))
            d.press(after: .milliseconds(100))
            d.send(.button(.doublePress), after: .zero)
            d.release(after: .milliseconds(80))
        case .offline:
            d.send(.linkReady)
            d.send(.linkLost)
        case .offlineWithReplay:
            if mode == .vad {
                d.send(.linkReady)
                d.send(.linkLost)
            } else {
                listen()
                d.send(.linkLost, after: .seconds(1))
            }
        case .error:
            d.send(.linkReady)
            d.send(.linkAuthFailed)
        case .errorAudio:
            d.send(.linkReady)
            d.send(.audioDeviceLost)
        case .connectingAfterLoss:
            d.send(.linkReady)
            d.send(.linkLost)
            d.send(.linkConnecting)
        case .renewing:
            d.send(.linkReady)
            d.send(.linkRenewing)
        case .listeningRenewing:
            listen()
            d.send(.linkRenewing, after: .seconds(1))
        case .thinkingRenewing:
            // The renewal starts first; the turn is taken and sent while it runs.
            d.send(.linkReady)
            d.send(.linkRenewing)
            switch mode {
            case .pushToTalk: d.press(); d.release(after: .seconds(1))
            case .toggle: d.tap(); d.tap(after: .seconds(1))
            case .vad: d.server(.speechStarted); d.server(.speechStopped, after: .seconds(1))
            }
        }
        d.log = []
        return d
    }
}

extension ApplianceEvent {
    /// One of every event the machine can get, with payloads that hit its interesting branches.
    /// Timer events here are stale (never armed); the table test adds the armed ones.
    static let allSampleCases: [ApplianceEvent] = {
        var e: [ApplianceEvent] = [.linkConnecting, .linkReady, .linkRenewing, .linkLost, .linkAuthFailed, .linkStopped]
        e += ButtonEvent.allCases.map { .button($0) }
        e += [
            .server(.speechStarted), .server(.speechStopped), .server(.committed),
            .server(.responseCreated(responseID: "r1")), .server(.responseCreated(responseID: "r2")),
            .server(.responseCreated(responseID: "r3", stale: true)),
            .server(.audioDelta(responseID: "r1", audioMs: 100, base64: "AAAA")), .server(.audioDelta(responseID: "r2", audioMs: 100)),
            .server(.responseAudioEnded(responseID: "r1")),
            .server(.responseDone(responseID: "r1", status: "completed")),
            .server(.responseDone(responseID: "r1", status: "failed")),
            .server(.responseDone(responseID: "r2", status: "completed")),
            .server(.userTranscript("what time is it")),
            .server(.assistantTranscript(responseID: "r1", text: "It is noon.")),
            .server(.error(code: nil, message: "Conversation has none active response")),
            .server(.error(code: nil, message: "Input audio buffer is empty")),
            .server(.rateLimited(message: "Requests rate limit exceeded, please try again later.")),
            .playbackStarted, .playbackDrained, .audioDeviceLost, .audioDeviceBack,
        ]
        e += ApplianceTimer.Kind.allCases.map { .timer(ApplianceTimer($0, generation: 999_999)) }
        return e
    }()
}

extension ApplianceAction {
    /// The audio of a `.playAudioDelta`, nil for any other action.
    var playedAudio: String? {
        if case .playAudioDelta(let base64) = self { base64 } else { nil }
    }

    /// Actions that put something in the session manager's queue.
    var goesToSession: Bool {
        switch self {
        case .startStreaming, .commit, .createResponse, .cancelResponse, .clearInputBuffer, .replayTurn: true
        default: false
        }
    }
}

extension [ApplianceAction] {
    /// Whether the machine asked for a delta to be played (whatever its audio).
    var playsAudio: Bool { contains { $0.playedAudio != nil } }
}
