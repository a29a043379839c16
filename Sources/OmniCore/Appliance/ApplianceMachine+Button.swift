// The button, after gesture detection: what press, release, tap, long press and double press
// mean in each mode and state, and the gesture actions (mute, reconnect, interrupt) they map to.

extension ApplianceMachine {
    mutating func button(_ b: ButtonEvent) {
        switch b {
        case .press: press()
        case .release: release()
        case .tap: tap()
        case .longPress: longPress()
        case .doublePress: doublePress()
        }
    }

    mutating func press() {
        buttonHeld = true
        pressActed = false
        if var t = turn {
            t.startedByCurrentPress = false
            turn = t
        }
        guard canServe else {
            if state == .speaking && settings.bargeIn != .off {
                // The link is gone but the answer was playing from the ring: the press stops it.
                emit(.flushPlayback)
                counters.bargeIns += 1
                endTurn(as: .cancelled)
            }
            refusePress()
            return
        }
        if settings.bargeIn == .off && (state == .thinking || state == .speaking) {
            refusePress()
            return
        }
        switch settings.mode {
        case .pushToTalk:
            switch state {
            case .ready: startTurn(.press)
            case .thinking, .speaking:
                bargeIn()
                startTurn(.press)
            case .muted: refusePress()
            case .listening, .connecting, .offline, .error: break
            }
        case .toggle:
            switch state {
            case .thinking, .speaking:
                bargeIn()
                startTurn(.press)
            case .ready, .listening, .muted, .connecting, .offline, .error: break
            }
        case .vad:
            switch state {
            case .thinking, .speaking:
                stopAnswer(sendCancel: true)
                counters.bargeIns += 1
                endTurn(as: .cancelled)
                pressActed = true
            case .ready, .listening, .muted, .connecting, .offline, .error: break
            }
        }
    }

    mutating func release() {
        buttonHeld = false
        guard settings.mode == .pushToTalk, state == .listening, let t = turn, t.origin == .press else { return }
        finishCapture()
    }

    mutating func tap() {
        guard !pressActed else { return }
        pressActed = true
        switch settings.mode {
        case .pushToTalk:
            break
        case .toggle:
            switch state {
            case .ready: startTurn(.tap)
            case .listening: finishCapture()
            case .muted: refusePress()
            case .connecting, .offline, .error: refusePress()
            case .thinking, .speaking: break
            }
        case .vad:
            switch state {
            case .ready, .listening: setMuted(true)
            case .muted: setMuted(false)
            case .connecting, .offline, .error: refusePress()
            case .thinking, .speaking: break
            }
        }
    }

    mutating func longPress() {
        if state == .listening, let t = turn, t.startedByCurrentPress { return }  // a long utterance
        perform(settings.longPressAction)
    }

    mutating func doublePress() {
        guard settings.doublePressAction != .none else { return }
        if state == .listening, let t = turn, t.startedByCurrentPress, settings.doublePressAction != .look {
            // The second press started a turn; the gesture wins over it (a look is about that turn).
            setStreaming(false)
            if linkUp { emit(.clearInputBuffer) }
            endTurn(as: .cancelled)
        }
        pressActed = true
        perform(settings.doublePressAction)
    }

    mutating func refusePress() {
        pressActed = true
        counters.pressesRefused += 1
        if state == .muted {
            emit(.earcon(.mute))
            emit(.logNotice("press ignored: the microphone is muted"))
        } else {
            emit(.earcon(.error))
            emit(.logNotice("press ignored: \(refusalReason)"))
        }
        emit(.setLEDs(state))
    }

    var refusalReason: String {
        if !audioAvailable { return "the audio device is not available" }
        if settings.bargeIn == .off && (state == .thinking || state == .speaking) {
            return "an answer is under way and [session] barge_in = \"off\""
        }
        switch link {
        case .up, .renewing: return "busy"
        case .connecting: return "still connecting to the service"
        case .down, .stopped: return "offline"
        case .authFailed: return "the service rejected the API key"
        }
    }

    mutating func perform(_ action: ApplianceGestureAction) {
        switch action {
        case .none: break
        case .mute: setMuted(!muted)
        case .reconnect: reconnect()
        case .interrupt: interrupt()
        case .look: break  // the turn goes on; omnid's camera side marks it
        }
    }

    mutating func setMuted(_ on: Bool) {
        guard on != muted else { return }
        muted = on
        pressActed = true
        if on {
            if state == .listening {
                setStreaming(false)
                if linkUp { emit(.clearInputBuffer) }
                endTurn(as: .cancelled)
            }
            emit(.earcon(.mute))
        } else {
            emit(.earcon(.unmute))
        }
        syncStreaming()
        if turn == nil { settle() }
    }
}
