import RealtimeProtocol

// The hostile faults' frames (issue 16): what a broken or malicious service could send, built so
// a client test can count exactly what it must survive. See FaultPlan for the parameters.
extension SimConnection {
    /// The frames of a hostile fault that goes out before an answer.
    func sendHostile(_ f: FaultPlan, into out: inout [SimAction]) {
        switch f.kind {
        case .flood:
            let n = f.count ?? 20_000
            out.reserveCapacity(out.count + n)
            // fault_bytes pads each frame (Base64-like text), so a flood can be heavy as well as long.
            let pad = String(repeating: "A", count: max(0, (f.bytesParam ?? 0) - 90))
            for i in 0..<n {
                switch f.floodKind {
                case .malformed:
                    // Cut mid-string, like a proxy that truncates frames.
                    out.append(.sendRaw(#"{"event_id":"\#(ids.event())","type":"response.audio.delta","delta":"AAAA\#(pad)"#))
                case .unknown:
                    out.append(.sendRaw(#"{"event_id":"\#(ids.event())","type":"sim.flood","n":\#(i),"pad":"\#(pad)"}"#))
                case .error:
                    out.append(error(ErrorDetail(type: "invalid_request_error", code: "sim_flood",
                                                 message: "Flood error \(i).\(pad)")))
                }
            }
        case .invalidUTF8:
            // 0xC3 0x28: a lead byte without its continuation; 0xFF never occurs in UTF-8.
            let head = Array(#"{"event_id":"\#(ids.event())","type":"sim.invalid_utf8","text":""#.utf8)
            out.append(.sendMessage(RawMessage(payload: head + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8))))
        case .deepNesting:
            let d = f.depth
            let text = #"{"event_id":"\#(ids.event())","type":"sim.deep","nest":"#
                + String(repeating: "[", count: d) + String(repeating: "]", count: d) + "}"
            out.append(.sendRaw(text))
        case .binaryFrames:
            var rng = SplitMix64(seed: UInt64(f.bytes))
            for _ in 0..<(f.count ?? 100) {
                let payload = (0..<f.bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                out.append(.sendMessage(RawMessage(payload: payload, binary: true, fragmentBytes: f.fragmentBytes)))
            }
        case .slowLoris:
            let head = #"{"event_id":"\#(ids.event())","type":"sim.slow","padding":""#
            let tail = #""}"#
            let pad = max(0, f.bytes - head.utf8.count - tail.utf8.count)
            let text = head + String(repeating: "z", count: pad) + tail
            out.append(.sendMessage(RawMessage(payload: Array(text.utf8), fragmentBytes: f.fragmentBytes ?? 1,
                                               gapMs: f.gapMs)))
        default:
            break
        }
    }

    /// An audio payload that is not Base64 PCM, three ways in turn: a character outside the
    /// alphabet, an impossible length (4k+1 characters), valid Base64 of an odd byte count.
    static func spoil(_ base64: String, variant: Int, samples: ArraySlice<Int16>) -> String {
        switch variant % 3 {
        case 0:
            return "!" + base64.dropFirst()
        case 1:
            var t = String(base64.filter { $0 != "=" })
            while t.utf8.count % 4 != 1 { t += "A" }
            return t
        default:
            var bytes: [UInt8] = []
            for s in samples { bytes += [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)] }
            return Base64.encode(Array(bytes.dropLast()))
        }
    }
}
