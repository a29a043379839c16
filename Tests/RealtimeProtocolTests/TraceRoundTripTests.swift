// Every frame of every golden trace decodes to a known typed event and re-encodes to the same
// JSON (nothing lost), and decode(encode(x)) == x.

import RealtimeProtocol
import XCTest

final class TraceRoundTripTests: XCTestCase {
    func testTraceFilesAreFoundAndFullyRead() throws {
        let files = try Fixtures.traces()
        XCTAssertGreaterThanOrEqual(files.count, Fixtures.expectedTraceFiles.count)
        for f in files {
            XCTAssertGreaterThan(f.physicalLineCount, 0, f.name)
            XCTAssertEqual(f.lines.count, f.physicalLineCount, "\(f.name): parsed lines != lines in the file")
            XCTAssertEqual(f.lines.first?.type, "_ws.open", "\(f.name) starts with the handshake pseudo-event")
        }
    }

    func testEveryTraceFrameRoundTrips() throws {
        var clientFrames = 0, serverFrames = 0, pseudoEvents = 0, physicalLines = 0
        for file in try Fixtures.traces() {
            physicalLines += file.physicalLineCount
            for line in file.lines {
                if line.isPseudoEvent {
                    pseudoEvents += 1
                    continue
                }
                switch line.dir {
                case "client":
                    clientFrames += 1
                    roundTrip(line, decode: ClientEvent.decode, type: \.type, encode: { $0.encoded() }) {
                        if case .unknown = $0.body { true } else { false }
                    }
                case "server":
                    serverFrames += 1
                    roundTrip(line, decode: ServerEvent.decode, type: \.type, encode: { $0.encoded() }) {
                        if case .unknown = $0.body { true } else { false }
                    }
                default:
                    XCTFail("\(line.location): dir \(line.dir)")
                }
            }
        }
        // No line was skipped silently: frames + pseudo-events account for every line on disk.
        XCTAssertEqual(clientFrames + serverFrames + pseudoEvents, physicalLines)
        XCTAssertGreaterThan(clientFrames, 0)
        XCTAssertGreaterThan(serverFrames, 0)
        // Each file opens with `_ws.open`; the two server-closed sessions end with `_ws.close`.
        XCTAssertGreaterThanOrEqual(pseudoEvents, Fixtures.expectedTraceFiles.count)
    }

    /// One frame: decodes to its typed event (not `.unknown`), re-encodes to the same JSON, and
    /// decodes again to the same event.
    func roundTrip<Event: Equatable>(_ line: TraceLine, decode: (String) throws -> Event, type: KeyPath<Event, String>,
                                     encode: (Event) -> String, isUnknown: (Event) -> Bool) {
        let event: Event
        do { event = try decode(line.wireText) } catch {
            return XCTFail("\(line.location): \(error)")
        }
        XCTAssertEqual(event[keyPath: type], line.type, line.location)
        if isUnknown(event) { XCTFail("\(line.location): \(line.type) decoded as .unknown") }
        let encoded = encode(event)
        guard let reparsed = parseJSON(encoded) else { return }
        XCTAssertTrue(reparsed.semanticallyEquals(JSONValue.object(line.wire)),
                      "\(line.location): re-encoding changed the frame\n got: \(encoded)\nwant: \(line.wireText)")
        XCTAssertEqual(try decode(encoded), event, line.location)
    }

    /// The traces only use fields the library models: nothing lands in a top-level `extra`.
    /// (Nested server bookkeeping such as `session.tools` is expected to stay in `extra`.)
    func testTraceFramesHaveNoUnmodelledTopLevelFields() throws {
        for line in try Fixtures.frames() {
            let extra = line.dir == "client" ? try ClientEvent.decode(object: line.wire).extra
                : try ServerEvent.decode(object: line.wire).extra
            XCTAssertTrue(extra.isEmpty, "\(line.location): unmodelled fields \(extra.keys)")
        }
    }

    /// The two catalogues of the protocol document (§2) decode to typed events, not `.unknown`.
    func testTracesCoverTheDocumentedFlashCatalogue() throws {
        var seen: Set<String> = []
        for line in try Fixtures.frames() { seen.insert("\(line.dir) \(line.type)") }
        let expected = [
            "client session.update", "client input_audio_buffer.append", "client input_audio_buffer.commit",
            "client input_image_buffer.append", "client response.create", "client response.cancel",
            "client session.finish",
            "server error", "server session.created", "server session.updated", "server session.finished",
            "server input_audio_buffer.speech_started", "server input_audio_buffer.speech_stopped",
            "server input_audio_buffer.committed", "server conversation.item.created",
            "server conversation.item.input_audio_transcription.completed", "server response.created",
            "server response.output_item.added", "server response.content_part.added",
            "server response.audio_transcript.delta", "server response.audio.delta",
            "server response.audio_transcript.done", "server response.audio.done",
            "server response.content_part.done", "server response.output_item.done", "server response.done",
        ]
        for e in expected { XCTAssertTrue(seen.contains(e), "no trace contains \(e)") }
    }

    /// Spot checks that the typed values are the ones on the wire.
    func testTypedValuesFromTraces() throws {
        let frames = try Fixtures.frames()
        func first(_ file: String, _ type: String, _ dir: String = "server") throws -> TraceLine {
            try XCTUnwrap(frames.first { $0.file == file && $0.type == type && $0.dir == dir }, "\(file) \(type)")
        }

        // Manual mode: the SDK's session.update with turn_detection null.
        let manual = try ClientEvent.decode(object: first("manual_turn.jsonl", "session.update", "client").wire)
        guard case .sessionUpdate(let cfg) = manual.body else { return XCTFail("\(manual.body)") }
        XCTAssertEqual(cfg.turnDetection, .null)
        XCTAssertEqual(cfg.modalities, ["audio", "text"])
        XCTAssertEqual(cfg.inputAudioFormat, "pcm16")
        XCTAssertEqual(cfg.inputAudioTranscription, .set(InputAudioTranscription(model: .set("gummy-realtime-v1"))))
        XCTAssertEqual(cfg.instructions, "You are Xiaoyun, a personal assistant. Answer accurately and kindly.")

        // response.create {"response":{"instructions":null}}
        let create = try ClientEvent.decode(object: first("manual_turn.jsonl", "response.create", "client").wire)
        XCTAssertEqual(create.body, .responseCreate(ResponseParameters(instructions: .null)))
        // The errors trace sends the doc form without `response`.
        let bare = try ClientEvent.decode(object: first("errors.jsonl", "response.create", "client").wire)
        XCTAssertEqual(bare.body, .responseCreate(nil))

        // VAD config echo; server bookkeeping fields kept in extra.
        let updated = try ServerEvent.decode(object: first("vad_turn.jsonl", "session.updated").wire)
        guard case .sessionUpdated(let s) = updated.body else { return XCTFail("\(updated.body)") }
        XCTAssertEqual(s.id, "sess_trace004")
        XCTAssertEqual(s.model, "qwen3-omni-flash-realtime")
        XCTAssertEqual(s.turnDetection.value?.threshold, 0.1)
        XCTAssertEqual(s.turnDetection.value?.prefixPaddingMs, 500)
        XCTAssertEqual(s.turnDetection.value?.silenceDurationMs, 900)
        XCTAssertEqual(s.turnDetection.value?.interruptResponse, true)
        XCTAssertEqual(s.topK, .set(50))
        XCTAssertEqual(s.seed, -1)
        XCTAssertEqual(s.presencePenalty, 0)
        XCTAssertEqual(s.extra["max_response_output_token"], "inf")
        XCTAssertEqual(s.extra["tools"], .array([]))
        XCTAssertEqual(s.extra["tool_choice"], "auto")

        let started = try ServerEvent.decode(object: first("vad_turn.jsonl", "input_audio_buffer.speech_started").wire)
        XCTAssertEqual(started.body, .speechStarted(audioStartMs: 200, itemID: "item_trace009"))
        XCTAssertEqual(started.eventID, "event_trace110")

        let done = try ServerEvent.decode(object: first("vad_turn.jsonl", "response.done").wire)
        guard case .responseDone(let r) = done.body else { return XCTFail("\(done.body)") }
        XCTAssertEqual(r.status, "completed")
        XCTAssertEqual(r.usage?.totalTokens, 377)
        XCTAssertEqual(r.usage?.inputTokensDetails?.audioTokens, 108)
        XCTAssertEqual(r.usage?.outputTokensDetails?.textTokens, 9)
        XCTAssertEqual(r.output?.first?.content?.first?.spokenText, "Sunny and warm today!")

        // Barge-in: the interrupted item is closed `incomplete`; the cancel race error is recoverable.
        let closed = frames.filter { $0.file == "barge_in.jsonl" && $0.type == "response.output_item.done" }
        let firstClose = try ServerEvent.decode(object: XCTUnwrap(closed.first).wire)
        guard case .outputItemDone(_, _, let item) = firstClose.body else { return XCTFail("\(firstClose.body)") }
        XCTAssertEqual(item.status, "incomplete")
        let race = try ServerEvent.decode(object: first("barge_in.jsonl", "error").wire)
        guard case .error(let err) = race.body else { return XCTFail("\(race.body)") }
        XCTAssertEqual(err.message, "Conversation has none active response")
        XCTAssertEqual(err.code, "")
        XCTAssertTrue(err.isRecoverable)

        // content_part uses `text` even for audio parts.
        let part = try ServerEvent.decode(object: first("vad_turn.jsonl", "response.content_part.done").wire)
        guard case .contentPartDone(let ref, let p) = part.body else { return XCTFail("\(part.body)") }
        XCTAssertEqual(ref, ContentRef(responseID: "resp_trace005", itemID: "item_trace010"))
        XCTAssertEqual(p, ContentPart(type: "audio", text: "Sunny and warm today!"))
        XCTAssertEqual(p.spokenText, "Sunny and warm today!")
    }

    /// §12: "All Base64 payloads are valid": mic chunks 3200 bytes, output deltas 4800 bytes, a JPEG.
    func testTracePayloadsAreValidBase64OfTheDocumentedSizes() throws {
        var audioIn = 0, audioOut = 0, images = 0
        for line in try Fixtures.frames() {
            switch (line.dir, line.type) {
            case ("client", "input_audio_buffer.append"):
                guard case .inputAudioBufferAppend(let b64) = try ClientEvent.decode(object: line.wire).body else {
                    XCTFail(line.location); continue
                }
                XCTAssertEqual(Base64.decode(b64)?.count, 3200, line.location)
                XCTAssertEqual(PCM16.samples(fromBase64: b64)?.count, AudioFormat.inputSampleRate / 10, line.location)
                audioIn += 1
            case ("server", "response.audio.delta"):
                guard case .audioDelta(_, let b64) = try ServerEvent.decode(object: line.wire).body else {
                    XCTFail(line.location); continue
                }
                XCTAssertEqual(Base64.decode(b64)?.count, 4800, line.location)
                XCTAssertEqual(PCM16.samples(fromBase64: b64)?.count, AudioFormat.outputSampleRate / 10, line.location)
                audioOut += 1
            case ("client", "input_image_buffer.append"):
                guard case .inputImageBufferAppend(let b64) = try ClientEvent.decode(object: line.wire).body else {
                    XCTFail(line.location); continue
                }
                let jpeg = try XCTUnwrap(Base64.decode(b64), line.location)
                XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF], "\(line.location): JPEG SOI marker")
                XCTAssertEqual(Array(jpeg.suffix(2)), [0xFF, 0xD9], "\(line.location): JPEG EOI marker")
                images += 1
            default: break
            }
        }
        XCTAssertGreaterThan(audioIn, 0)
        XCTAssertGreaterThan(audioOut, 0)
        XCTAssertGreaterThan(images, 0)
    }
}
