// Base64 for audio and image payloads. Written here (rather than Data's) so the session can
// encode straight from a ring-buffer slice into a reusable byte buffer without Foundation.

public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    public static func encodedLength(_ n: Int) -> Int { (n + 2) / 3 * 4 }

    /// Appends the encoding of `bytes` to `out`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let n = bytes.count
        out.reserveCapacity(out.count + encodedLength(n))
        var i = 0
        while i + 3 <= n {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        let rest = n - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")])
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { encode($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard Base64 (padding optional, no whitespace). Nil on any invalid character,
    /// an impossible length, or padding that does not complete the last 4-character group.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var text = text
        let ok = text.withUTF8 { decode($0, into: &out) }
        return ok ? out : nil
    }

    /// How many bytes `text` decodes to, without decoding it; nil exactly when `decode` fails.
    /// (The session checks every audio delta with it: a hostile payload is counted, not played.)
    public static func decodedCount(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { src -> Int? in
            guard let n = dataLength(src) else { return nil }
            for i in 0..<n where reverse[Int(src[i])] == 0xFF { return nil }
            return n * 6 / 8
        }
    }

    /// The length of `src` without its padding, nil when the length or padding is impossible.
    private static func dataLength(_ src: UnsafeBufferPointer<UInt8>) -> Int? {
        var n = src.count
        while n > 0, src[n - 1] == UInt8(ascii: "=") { n -= 1 }
        let padding = src.count - n
        // Unpadded: any length but 4k+1. Padded: the padding must fill the last group exactly
        // ("QQ==", "QUI="), so "QQ=", "QUI==" and "QUJD=" are rejected.
        guard n % 4 != 1, padding == 0 || (padding <= 2 && (n + padding) % 4 == 0) else { return nil }
        return n
    }

    /// Appends the decoding of `src` to `out`; on failure returns false and leaves `out` as it was.
    public static func decode(_ src: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        guard let n = dataLength(src) else { return false }
        let start = out.count
        out.reserveCapacity(start + n * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for i in 0..<n {
            let d = reverse[Int(src[i])]
            if d == 0xFF {
                out.removeSubrange(start...)
                return false
            }
            acc = acc << 6 | UInt32(d)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return true
    }
}
