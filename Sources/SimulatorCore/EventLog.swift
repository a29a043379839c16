import RealtimeProtocol

// One `--log` line (JSON Lines), what tests and benchmarks read:
//   {"t_ms": <monotonic ms since the simulator started>, "conn": <connection id>,
//    "dir": "client" | "server" | "sim", "event": <wire JSON object or pseudo-event>}
// Pseudo-events (type starting with `_`, as in the golden traces): `_ws.open`, `_ws.reject`,
// `_ws.close`, `_ws.reset`, `_sim.fault`, `_sim.stall`, `_sim.raw`, `_sim.unparsable`, `_sim.image`
// (an accepted image: bytes, base64_bytes, width, height, process, mean_rgb, colour).
public enum EventLog {
    public static func line(tMs: Double, conn: JSONValue, dir: String, event: JSONValue, logAudio: Bool = true) -> String {
        var o = JSONObject()
        o.append("t_ms", .double((tMs * 1000).rounded() / 1000))
        o.append("conn", conn)
        o.append("dir", .string(dir))
        o.append("event", logAudio ? event : redacted(event))
        return o.serialized()
    }

    /// The event with Base64 payloads (`audio`, `image`, and `delta` of `response.audio.delta`)
    /// replaced by their decoded byte count.
    public static func redacted(_ event: JSONValue) -> JSONValue {
        guard var o = event.objectValue else { return event }
        let type = o["type"]?.stringValue ?? ""
        var keys = ["audio", "image"]
        if type == "response.audio.delta" { keys.append("delta") }
        for k in keys {
            if let s = o[k]?.stringValue { o[k] = .int(Int64(decodedLength(s))) }
        }
        return .object(o)
    }

    static func decodedLength(_ b64: String) -> Int {
        let n = b64.utf8.count
        let pad = b64.utf8.reversed().prefix(2).filter { $0 == UInt8(ascii: "=") }.count
        return n / 4 * 3 - (n % 4 == 0 ? pad : 0) + (n % 4 == 0 ? 0 : max(0, n % 4 - 1))
    }

    /// A pseudo-event object: `{"type": type, …fields}`.
    public static func pseudo(_ type: String, _ fields: [(String, JSONValue)] = []) -> JSONValue {
        .object(JSONObject([("type", .string(type))] + fields))
    }
}
