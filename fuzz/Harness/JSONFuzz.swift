import RealtimeProtocol

// One frame from the network. Properties:
//  - whatever parses serializes to text that parses back to the *same* value (strict equality:
//    key order and the int/double distinction are what the codec promises to keep);
//  - a frame that decodes as a server (or client) event re-encodes to a frame that decodes to
//    the same event (nothing lost, nothing invented), through both the object and text paths;
//  - audio payloads go through the Base64/PCM16 decoder.
enum JSONFuzz {
    static func run(_ bytes: UnsafeBufferPointer<UInt8>) throws(FuzzFinding) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes: bytes) } catch { return }
        let text = value.serialized()
        let again: JSONValue
        do { again = try JSONParser.parse(text) } catch {
            throw FuzzFinding(.json, "the serializer's output does not parse (\(error)): \(excerpt(text))")
        }
        guard again == value else {
            throw FuzzFinding(.json, "parse(serialize(v)) != v: \(excerpt(text)) reparsed as \(excerpt(again.serialized()))")
        }
        guard case .object(let object) = value else { return }

        // The text path (EventEnvelope) must agree with the object path.
        let frame = utf8Text(bytes)
        if let event = try? ServerEvent.decode(object: object) {
            try checkServer(event)
            // The frame's text (invalid UTF-8 repaired as a String would be) decodes too.
            if (try? ServerEvent.decode(frame)) == nil, frame.utf8.elementsEqual(bytes) {
                throw FuzzFinding(.json, "decodes as an object but not as text: \(excerpt(frame))")
            }
        }
        if let event = try? ClientEvent.decode(object: object) {
            try checkClient(event)
        }
    }

    static func checkServer(_ event: ServerEvent) throws(FuzzFinding) {
        let encoded = event.encoded()
        let back: ServerEvent
        do { back = try ServerEvent.decode(encoded) } catch {
            throw FuzzFinding(.json, "server event \(event.type) re-encodes to a frame that does not decode (\(error)): \(excerpt(encoded))")
        }
        guard back == event else {
            throw FuzzFinding(.json, "server event \(event.type) changes in a round trip: \(excerpt(encoded)) → \(excerpt(back.encoded()))")
        }
        if case .audioDelta(_, let delta) = event.body { _ = PCM16.samples(fromBase64: delta) }
    }

    static func checkClient(_ event: ClientEvent) throws(FuzzFinding) {
        let encoded = event.encoded()
        let back: ClientEvent
        do { back = try ClientEvent.decode(encoded) } catch {
            throw FuzzFinding(.json, "client event \(event.type) re-encodes to a frame that does not decode (\(error)): \(excerpt(encoded))")
        }
        guard back == event else {
            throw FuzzFinding(.json, "client event \(event.type) changes in a round trip: \(excerpt(encoded)) → \(excerpt(back.encoded()))")
        }
        if case .inputAudioBufferAppend(let audio) = event.body { _ = PCM16.samples(fromBase64: audio) }
    }
}
