import XCTest
import RealtimeProtocol
@testable import OmniCore

final class SessionManagerTests: XCTestCase {
    // MARK: Configure, then ready

    func testSessionUpdateIsFirstAndNothingElseBeforeSessionUpdated() {
        let h = SessionHarness()
        let m = h.manager
        m.appendAudio(base64: audioPayload(0))           // queued before start
        m.start()
        XCTAssertEqual(m.state, .connecting)
        XCTAssertEqual(h.transport.calls, [.connect(url: ConnectRequest.test.url)])
        m.appendAudio(base64: audioPayload(1))           // while connecting
        XCTAssertEqual(h.transport.sent.count, 0)

        m.handle(.opened)
        XCTAssertEqual(m.state, .configuring)
        XCTAssertEqual(h.transport.sentTypes, ["session.update"])
        XCTAssertEqual(h.transport.sentEvents[0].config, SessionConfig.manualTest)

        m.appendAudio(base64: audioPayload(2))           // while configuring
        m.commit()
        m.createResponse()
        h.serve(.sessionCreated(SessionConfig(id: "sess_1", modalities: ["text", "audio"])))
        XCTAssertEqual(m.state, .configuring)
        XCTAssertEqual(h.transport.sentTypes, ["session.update"], "nothing but session.update before session.updated")

        h.serve(.sessionUpdated(.manualTest))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(h.transport.sentTypes, ["session.update", "input_audio_buffer.append", "input_audio_buffer.append",
                                               "input_audio_buffer.append", "input_audio_buffer.commit", "response.create"])
        XCTAssertEqual(h.transport.sentEvents.compactMap(\.audio), [audioPayload(0), audioPayload(1), audioPayload(2)])
        XCTAssertEqual(h.states, [.connecting, .configuring, .ready])
        XCTAssertTrue(h.events.contains(.ready))
        XCTAssertEqual(m.queuedMessages, 0)
        XCTAssertEqual(m.counters.messagesSent, 6)
        XCTAssertEqual(m.counters.messagesReceived, 2)

        // Once ready, messages go straight out.
        m.appendAudio(base64: audioPayload(3))
        XCTAssertEqual(h.transport.sentEvents.last?.audio, audioPayload(3))
        h.assertCleanLogs()
    }

    func testServerEventsAreForwardedInOrder() {
        let h = SessionHarness()
        h.makeReady()
        let ref = ContentRef(responseID: "resp_1", itemID: "item_1")
        h.serve(.responseCreated(ResponseInfo(id: "resp_1", status: "in_progress")))
        h.serve(.audioDelta(ref, delta: "AAAAAAAA"))
        h.serve(.responseDone(ResponseInfo(id: "resp_1", status: "completed")))
        XCTAssertEqual(h.serverEvents.map(\.type), ["session.updated", "response.created", "response.audio.delta", "response.done"])
        if case .audioDelta(let r, let d) = h.serverEvents[2].body {
            XCTAssertEqual(r, ref)
            XCTAssertEqual(d, "AAAAAAAA")
        } else {
            XCTFail("expected an audio delta")
        }
    }

    func testSessionUpdateWaitsForWritableWhenTransportBusyAtOpen() {
        let h = SessionHarness()
        let m = h.manager
        m.start()
        h.transport.accepting = false
        m.handle(.opened)
        XCTAssertEqual(h.transport.sent.count, 0)
        XCTAssertEqual(h.transport.refusedSends, 1)
        h.transport.accepting = true
        m.handle(.writable)
        XCTAssertEqual(h.transport.sentTypes, ["session.update"])
        h.serve(.sessionUpdated(.manualTest))
        XCTAssertEqual(m.state, .ready)
    }

    func testEventIDsArePrefixedAndUnique() throws {
        let h = SessionHarness()
        h.makeReady()
        for i in 0..<20 { h.manager.appendAudio(base64: audioPayload(i)) }
        h.manager.commit()
        let ids = h.transport.sentEvents.map { $0.eventID ?? "" }
        XCTAssertEqual(ids.count, 22)
        XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("event_") && $0.count > 8 }, "\(ids)")
        XCTAssertEqual(Set(ids).count, ids.count)
        // "event_", the manager's 12 hex digits, then its counter in lowercase hex without
        // leading zeros (the messages above take it across "f" → "10").
        let tags = Set(ids.map { $0.dropFirst(6).prefix(12) })
        XCTAssertEqual(tags.count, 1, "\(ids)")
        XCTAssertTrue(tags.first!.allSatisfy { "0123456789abcdef".contains($0) }, "\(ids)")
        let counters = ids.map { String($0.dropFirst(18)) }
        let first = try XCTUnwrap(UInt64(counters[0], radix: 16))
        XCTAssertEqual(counters, (0..<UInt64(ids.count)).map { String(first + $0, radix: 16) })
        XCTAssertTrue(counters.contains("f") && counters.contains("10"), "\(counters)")
    }

    func testAppendSamplesEncodesPCM16() {
        let h = SessionHarness()
        h.makeReady()
        h.manager.appendAudio(samples: [1, -2, 300])
        XCTAssertEqual(h.transport.sentEvents.last?.audio, PCM16.base64([1, -2, 300]))
        XCTAssertEqual(PCM16.samples(fromBase64: h.transport.sentEvents.last?.audio ?? ""), [1, -2, 300])
    }

    // MARK: updateSession

    func testUpdateSessionWhileReadySendsUpdateWithoutReconnecting() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        var next = SessionConfig.manualTest
        next.voice = "Ethan"
        next.instructions = "Speak slowly."
        m.updateSession(next)
        XCTAssertEqual(h.transport.sentTypes, ["session.update", "session.update"])
        XCTAssertEqual(h.transport.sentEvents.last?.config, next)
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(h.transport.connects, 1)
        XCTAssertEqual(h.transport.closes, [])
        XCTAssertEqual(h.transport.aborts, 0)
        h.serve(.sessionUpdated(next))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.session, next)

        // A rejected update is reported but the session carries on.
        let updateID = h.transport.sentEvents.last?.eventID
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "invalid_value", message: "bad temperature",
                                   eventID: updateID)))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(h.events.last, .serverError(code: "invalid_value", message: "bad temperature",
                                                   type: "invalid_request_error", recoverable: true))
        XCTAssertTrue(h.logs.contains("session.update rejected"))
        // (cannot_update_voice is not reported: the session is renewed for the voice instead;
        // see SessionLifecycleTests.testRefusedVoiceChangeRenewsBetweenTurns.)
    }

    func testUpdateSessionKeepsOrderWithQueuedMessages() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false
        m.appendAudio(base64: audioPayload(1))
        m.updateSession(.vadTest)
        m.appendAudio(base64: audioPayload(2))
        h.transport.accepting = true
        m.handle(.writable)
        XCTAssertEqual(h.transport.sentTypes, ["session.update", "input_audio_buffer.append", "session.update",
                                               "input_audio_buffer.append"])
        XCTAssertEqual(h.transport.sentEvents[2].config, .vadTest)
    }

    func testReconnectResendsConfigAndUsesTheNewOne() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        h.makeReady()

        // Link drops; the config changes while waiting; audio is queued meanwhile.
        m.handle(.failed(.connect("connection reset")))
        XCTAssertEqual(m.state.phase, .waitingToReconnect)
        m.updateSession(.vadTest)
        m.appendAudio(base64: audioPayload(7))
        let before = h.transport.sent.count
        h.run(for: .seconds(1))
        XCTAssertEqual(h.transport.connects, 2)
        XCTAssertEqual(m.state, .connecting)

        m.handle(.opened)
        let second = Array(h.transport.sentEvents.dropFirst(before))
        XCTAssertEqual(second.map(\.type), ["session.update"])
        XCTAssertEqual(second.first?.config, .vadTest)

        h.serve(.sessionUpdated(.vadTest))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(Array(h.transport.sentTypes.dropFirst(before)), ["session.update", "input_audio_buffer.append"])
        XCTAssertEqual(h.events.filter { $0 == .ready }.count, 2)
        XCTAssertEqual(m.counters.reconnects, 1)
        h.assertCleanLogs()
    }

    func testQueuedSessionUpdateIsNotResentAfterReconnect() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false          // stalled: the update stays queued
        m.updateSession(.vadTest)
        m.commit()
        m.handle(.failed(.protocolError("bad frame")))
        h.transport.accepting = true
        h.run(for: .seconds(1))
        m.handle(.opened)
        h.serve(.sessionUpdated(.vadTest))
        // The commit was queued for the lost link: it never reaches the new session.
        XCTAssertEqual(h.transport.sentTypes, ["session.update", "session.update"])
        XCTAssertEqual(h.transport.sentEvents[1].config, .vadTest)
    }

    // MARK: Bounded queue

    func testStalledLinkDropsOldestAudioAndKeepsEveryControlEventInOrder() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false

        // 200 appends; after every 25th a commit + response.create; one cancel and clear in between.
        var expected: [(type: String, audio: String?)] = []
        var audioIndex: [Int] = []       // index into `expected` of each audio message
        for i in 0..<200 {
            m.appendAudio(base64: audioPayload(i))
            audioIndex.append(expected.count)
            expected.append(("input_audio_buffer.append", audioPayload(i)))
            if i % 25 == 24 {
                m.commit()
                m.createResponse(ResponseParameters(instructions: .null))
                expected.append(("input_audio_buffer.commit", nil))
                expected.append(("response.create", nil))
            }
            if i == 60 {
                // The create of i == 49 has not left yet: the cancel withdraws it instead.
                m.cancelResponse()
                expected[expected.lastIndex { $0.type == "response.create" }!] = ("withdrawn", nil)
            }
            if i == 130 {
                m.clearInputBuffer()
                expected.append(("input_audio_buffer.clear", nil))
            }
        }
        XCTAssertEqual(m.queuedAudioMessages, 50)
        XCTAssertEqual(m.counters.droppedAudioFrames, 150)
        // Rate-limited (SessionHostileInputTests): one event, for the first drop.
        XCTAssertEqual(h.events.filter { if case .droppedAudio = $0 { true } else { false } }, [.droppedAudio(total: 1)])
        XCTAssertTrue(h.logs.contains("dropping the oldest queued audio"))
        XCTAssertEqual(h.transport.sent.count, 1, "only the session.update went out")

        // The oldest 150 audio messages are gone; everything else keeps its order.
        let droppedSlots = Set(audioIndex.prefix(150))
        let survivors = expected.enumerated().filter { !droppedSlots.contains($0.offset) }.map(\.element)
            .filter { $0.type != "withdrawn" }

        h.transport.accepting = true
        m.handle(.writable)
        // One response at a time: each create waits until the service has answered the previous.
        var answered = 0
        while m.queuedMessages > 0 && answered < 20 {
            answered += 1
            h.serve(.responseCreated(ResponseInfo(id: "resp_\(answered)")))
            h.serve(.responseDone(ResponseInfo(id: "resp_\(answered)", status: "completed")))
        }
        let out = Array(h.transport.sentEvents.dropFirst())
        XCTAssertEqual(out.map(\.type), survivors.map(\.type))
        XCTAssertEqual(out.map(\.audio), survivors.map(\.audio))
        XCTAssertEqual(out.compactMap(\.audio), (150..<200).map(audioPayload))
        XCTAssertEqual(out.filter { $0.type == "input_audio_buffer.commit" }.count, 8)
        XCTAssertEqual(out.filter { $0.type == "response.create" }.count, 7)
        XCTAssertEqual(out.filter { $0.type == "response.cancel" }.count, 0)
        XCTAssertEqual(out.filter { $0.type == "input_audio_buffer.clear" }.count, 1)
        if case .responseCreate(let p) = out.first(where: { $0.type == "response.create" })?.body {
            XCTAssertEqual(p?.instructions, .null)
        } else {
            XCTFail("response.create lost its parameters")
        }
        XCTAssertEqual(m.queuedMessages, 0)
        XCTAssertTrue(h.logs.contains("send queue drained after dropping 150"))
    }

    func testQueueIsBoundedWhileNotReadyAndFlushesAfterConfiguring() {
        let h = SessionHarness(settings: SessionSettings(maxQueuedAudio: 10))
        let m = h.manager
        m.start()
        for i in 0..<25 { m.appendAudio(base64: audioPayload(i)) }
        m.commit()
        XCTAssertEqual(m.queuedAudioMessages, 10)
        XCTAssertEqual(m.counters.droppedAudioFrames, 15)
        m.handle(.opened)
        h.serve(.sessionUpdated(.manualTest))
        XCTAssertEqual(h.transport.sentEvents.compactMap(\.audio), (15..<25).map(audioPayload))
        XCTAssertEqual(h.transport.sentTypes.last, "input_audio_buffer.commit")
    }

    func testPartialAcceptanceKeepsTheRestQueued() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false
        for i in 0..<5 { m.appendAudio(base64: audioPayload(i)) }
        XCTAssertEqual(m.queuedMessages, 5)
        h.transport.accepting = true
        m.appendAudio(base64: audioPayload(5))        // any new message also flushes, in order
        XCTAssertEqual(h.transport.sentEvents.compactMap(\.audio), (0..<6).map(audioPayload))
        XCTAssertEqual(m.counters.droppedAudioFrames, 0)
    }

    func testImagesAreBoundedSeparatelyFromAudio() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.transport.accepting = false
        m.appendAudio(base64: audioPayload(0))
        for i in 0..<5 { m.appendImage(base64: "IMG\(i)") }
        m.commit()
        XCTAssertEqual(m.counters.droppedImages, 3)
        XCTAssertEqual(m.counters.droppedAudioFrames, 0)
        h.transport.accepting = true
        m.handle(.writable)
        let out = h.transport.sentEvents.dropFirst()
        XCTAssertEqual(out.map(\.type), ["input_audio_buffer.append", "input_image_buffer.append",
                                         "input_image_buffer.append", "input_audio_buffer.commit"])
        let images = out.compactMap { if case .inputImageBufferAppend(let i) = $0.body { i } else { nil } }
        XCTAssertEqual(images, ["IMG3", "IMG4"])
    }

    // MARK: Incoming frames

    func testMalformedFramesAreCountedAndSkipped() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        let forwarded = h.serverEvents.count
        m.handle(.text("not json at all"))
        m.handle(.text(#"{"event_id":"event_1","no_type":true}"#))
        m.handle(.text("[1,2,3]"))
        m.handle(.text(#"{"type":42}"#))
        m.handle(.text(#"{"type":"response.audio.delta","delta":7}"#))
        XCTAssertEqual(m.counters.malformedFrames, 5)
        XCTAssertEqual(h.serverEvents.count, forwarded)
        XCTAssertEqual(m.state, .ready)
        // Rate-limited (SessionHostileInputTests): the first at once, the rest counted.
        XCTAssertEqual(h.logs.all.filter { $0.hasPrefix("warning skipping malformed frame") }.count, 1)
        // The stream goes on.
        h.serve(.inputAudioBufferCleared)
        XCTAssertEqual(h.serverEvents.last?.type, "input_audio_buffer.cleared")
        XCTAssertEqual(m.counters.messagesReceived, 7)
    }

    func testUnknownEventTypesAreCountedAndIgnored() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        let eventsBefore = h.events.count
        let sentBefore = h.transport.sent.count
        m.handle(.text(#"{"event_id":"event_x","type":"rate_limits.updated","rate_limits":[]}"#))
        m.handle(.text(#"{"type":"conversation.item.truncated"}"#))
        XCTAssertEqual(m.counters.unknownEvents, 2)
        XCTAssertEqual(m.counters.malformedFrames, 0)
        XCTAssertEqual(h.events.count, eventsBefore, "unknown events are not forwarded")
        XCTAssertEqual(h.transport.sent.count, sentBefore)
        XCTAssertEqual(m.state, .ready)
        XCTAssertTrue(h.logs.contains("debug ignoring unknown event type rate_limits.updated"))
    }

    // MARK: Server errors

    func testRecoverableErrorIsReportedAndTheSessionContinues() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "", message: "Conversation has none active response")))
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(h.events.last, .serverError(code: "", message: "Conversation has none active response",
                                                   type: "invalid_request_error", recoverable: true))
        XCTAssertEqual(h.serverEvents.last?.type, "error")
        XCTAssertEqual(h.transport.closes, [])
        XCTAssertEqual(m.counters.serverErrors, 1)
    }

    func testFatalServerErrorClosesAndReconnectsWithBackoff() {
        let h = SessionHarness(random: 0.5)
        let m = h.manager
        h.makeReady()
        h.serve(.error(ErrorDetail(type: "server_error", message: "Internal service error: null")))
        XCTAssertTrue(h.events.contains(.serverError(code: nil, message: "Internal service error: null",
                                                     type: "server_error", recoverable: false)))
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(h.transport.closes, [.close(code: 1000, reason: "server error")])
        m.handle(.closed(code: 1000, reason: ""))
        let reason = LinkLossReason.serverError(type: "server_error", code: nil, message: "Internal service error: null")
        XCTAssertEqual(m.state, .waitingToReconnect(until: h.now + .milliseconds(200), reason: reason))
        XCTAssertEqual(h.linkLosses, [reason])
        h.run(for: .milliseconds(200))
        XCTAssertEqual(h.transport.connects, 2)
        h.assertCleanLogs()
    }

    func testFatalErrorWithoutTypeIsFatal() {
        let h = SessionHarness()
        h.makeReady()
        h.serve(.error(ErrorDetail(message: "Internal service error: null")))
        XCTAssertEqual(h.manager.state, .closing)
    }

    func testInvalidConfigIsReportedAndRetriedAtTheCapOnly() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        for round in 0..<3 {
            if round == 0 { m.start() }
            XCTAssertEqual(m.state, .connecting)
            m.handle(.opened)
            let updateID = h.transport.sentEvents.last?.eventID
            h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "invalid_value",
                                       message: "Invalid modalities: ['audio'].", param: "session.modalities",
                                       eventID: updateID)))
            XCTAssertEqual(h.events.last(where: { if case .serverError = $0 { true } else { false } }),
                           .serverError(code: "invalid_value", message: "Invalid modalities: ['audio'].",
                                        type: "invalid_request_error", recoverable: false))
            XCTAssertEqual(m.state, .closing)
            m.handle(.closed(code: 1000, reason: ""))
            XCTAssertEqual(m.state.phase, .waitingToReconnect)
            XCTAssertEqual(h.scheduledDelay, .seconds(30), "round \(round)")
            if case .waitingToReconnect(_, let r) = m.state {
                XCTAssertEqual(r, .invalidConfig(code: "invalid_value", message: "Invalid modalities: ['audio']."))
            }
            let connects = h.transport.connects
            h.run(for: .milliseconds(29_999))
            XCTAssertEqual(h.transport.connects, connects, "no retry before the cap")
            h.run(for: .milliseconds(1))
            XCTAssertEqual(h.transport.connects, connects + 1)
        }
        XCTAssertTrue(h.logs.contains("rejected the session config"))
    }

    // MARK: stop

    func testStartIsIdempotent() {
        let h = SessionHarness()
        let m = h.manager
        m.start()
        m.start()
        XCTAssertEqual(h.transport.connects, 1)
        m.handle(.opened)
        m.start()
        h.serve(.sessionUpdated(.manualTest))
        m.start()
        XCTAssertEqual(m.state, .ready)
        m.handle(.failed(.connect("reset")))
        let waiting = m.state
        m.start()
        XCTAssertEqual(m.state, waiting, "start() does not cut a wait short")
        XCTAssertEqual(h.transport.connects, 1)
        XCTAssertEqual(h.transport.aborts, 0)
    }

    func testStopClosesGracefullyAndNeverReconnects() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.appendAudio(base64: audioPayload(0))
        h.transport.accepting = false
        m.appendAudio(base64: audioPayload(1))
        m.stop()
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(h.transport.closes, [.close(code: 1000, reason: "bye")])
        XCTAssertEqual(m.queuedMessages, 0)
        m.handle(.closed(code: 1000, reason: "bye"))
        XCTAssertEqual(m.state, .disconnected)
        XCTAssertNil(m.nextDeadline)
        h.run(for: .seconds(600))
        m.tick()
        XCTAssertEqual(h.transport.connects, 1)
        XCTAssertEqual(h.transport.pings, 0)
        XCTAssertEqual(h.linkLosses, [])
        XCTAssertEqual(h.states, [.connecting, .configuring, .ready, .closing, .disconnected])
        // Late events from the old link change nothing.
        m.handle(.failed(.connect("late")))
        m.handle(.text(#"{"type":"session.updated","session":{}}"#))
        XCTAssertEqual(m.state, .disconnected)
        // It can be started again.
        m.start()
        XCTAssertEqual(m.state, .connecting)
        XCTAssertEqual(h.transport.connects, 2)
        h.assertCleanLogs()
    }

    func testStopWithoutCloseConfirmationAbortsAfterTimeout() {
        let h = SessionHarness()
        let m = h.manager
        h.makeReady()
        m.stop()
        XCTAssertEqual(m.nextDeadline, h.now + .seconds(2))
        h.run(for: .seconds(2))
        XCTAssertEqual(m.state, .disconnected)
        XCTAssertEqual(h.transport.aborts, 1)
        h.run(for: .seconds(120))
        XCTAssertEqual(h.transport.connects, 1)
    }

    func testStopWhileWaitingCancelsTheReconnect() {
        let h = SessionHarness()
        let m = h.manager
        m.start()
        m.handle(.failed(.dns("no such host")))
        XCTAssertEqual(m.state.phase, .waitingToReconnect)
        m.stop()
        XCTAssertEqual(m.state, .disconnected)
        h.run(for: .seconds(120))
        XCTAssertEqual(h.transport.connects, 1)
    }

    func testStopWhileConnectingAborts() {
        let h = SessionHarness()
        let m = h.manager
        m.start()
        m.stop()
        XCTAssertEqual(m.state, .disconnected)
        XCTAssertEqual(h.transport.aborts, 1)
        m.handle(.opened)                     // stale
        XCTAssertEqual(m.state, .disconnected)
        XCTAssertEqual(h.transport.sent.count, 0)
    }

    func testStopDuringRenewalCloseWins() {
        let h = SessionHarness(settings: SessionSettings(maxSessionLength: .seconds(60), renewalMargin: .seconds(10)))
        let m = h.manager
        h.autoPong = true
        h.makeReady()
        h.run(for: .seconds(50))
        XCTAssertEqual(m.state, .closing)
        m.stop()
        m.handle(.closed(code: 1000, reason: ""))
        XCTAssertEqual(m.state, .disconnected)
        XCTAssertEqual(h.transport.connects, 1)
    }

    // MARK: Event delivery

    func testOnEventMayCallBackIntoTheManager() {
        let h = SessionHarness()
        let m = h.manager
        h.sink.reaction = { e in
            if e == .ready { m.appendAudio(base64: "FROM_CALLBACK") }
        }
        h.makeReady()
        XCTAssertEqual(h.transport.sentEvents.last?.audio, "FROM_CALLBACK")
        // Events keep their causal order: the server event, then the state change, then ready.
        let tail = h.events.suffix(3)
        XCTAssertEqual(tail.map { if case .server = $0 { "server" } else if case .stateChanged = $0 { "state" } else { "\($0)" } },
                       ["server", "state", "ready"])

        h.sink.reaction = { e in
            if case .linkLost = e { m.stop() }
        }
        m.handle(.failed(.tls("certificate expired")))
        XCTAssertEqual(m.state, .disconnected)
        XCTAssertEqual(h.states.suffix(2).map(\.phase), [.waitingToReconnect, .disconnected])
        h.assertCleanLogs()
    }

    // MARK: Logging

    func testTheAPIKeyIsNeverLogged() {
        let h = SessionHarness(random: 0)
        let m = h.manager
        let key = ConnectRequest.secretKey
        m.start()
        m.handle(.failed(.protocolError("server said: Bearer \(key) is bad")))
        h.run(for: .seconds(1))
        m.handle(.opened)
        h.serve(.error(ErrorDetail(type: "invalid_request_error", code: "InvalidApiKey",
                                   message: "Invalid API-key provided: \(key)")))
        m.handle(.closed(code: 1008, reason: "key \(key)"))
        h.run(for: .seconds(31))
        m.handle(.opened)
        h.serve(.sessionUpdated(.manualTest))
        m.handle(.closed(code: 1011, reason: "upstream \(key)"))
        XCTAssertGreaterThan(h.logs.all.count, 5)
        XCTAssertFalse(h.logs.all.contains { $0.contains(key) }, "\(h.logs.all.filter { $0.contains(key) })")
        XCTAssertTrue(h.logs.contains("<redacted>"))
    }

    // MARK: State table

    func testTransitionTable() {
        typealias P = SessionState.Phase
        let allowed: Set<String> = [
            "disconnected>connecting",
            "connecting>configuring", "connecting>waitingToReconnect", "connecting>authFailed", "connecting>disconnected",
            "configuring>ready", "configuring>closing", "configuring>waitingToReconnect", "configuring>authFailed",
            "configuring>connecting",
            "ready>closing", "ready>connecting", "ready>waitingToReconnect", "ready>authFailed",
            "closing>disconnected", "closing>connecting", "closing>waitingToReconnect", "closing>authFailed",
            "waitingToReconnect>connecting", "waitingToReconnect>disconnected",
            "authFailed>connecting", "authFailed>disconnected",
        ]
        for a in P.allCases {
            for b in P.allCases where a != b {
                XCTAssertEqual(SessionState.isValidTransition(from: a, to: b), allowed.contains("\(a.rawValue)>\(b.rawValue)"),
                               "\(a) -> \(b)")
            }
        }
        XCTAssertFalse(SessionState.isValidTransition(from: .disconnected, to: .ready))
        XCTAssertFalse(SessionState.isValidTransition(from: .connecting, to: .ready), "ready only after configuring")
        XCTAssertFalse(SessionState.isValidTransition(from: .waitingToReconnect, to: .ready))
    }
}
