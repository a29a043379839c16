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

    /// Appends the encoding of `bytes` to `out`. (Writes into the grown array through a pointer:
    /// appending per character cost more than the conversion itself, on every audio chunk.)
    public static func encode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        let n = bytes.count
        let start = out.count
        let length = encodedLength(n)
        guard length > 0 else { return }
        out.append(contentsOf: repeatElement(0, count: length))
        alphabet.withUnsafeBufferPointer { table in
            out.withUnsafeMutableBufferPointer { dst in
                var o = start
                var i = 0
                while i + 3 <= n {
                    let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                    dst[o] = table[Int(v >> 18 & 63)]
                    dst[o + 1] = table[Int(v >> 12 & 63)]
                    dst[o + 2] = table[Int(v >> 6 & 63)]
                    dst[o + 3] = table[Int(v & 63)]
                    o += 4
                    i += 3
                }
                let rest = n - i
                if rest > 0 {
                    var v = UInt32(bytes[i]) << 16
                    if rest == 2 { v |= UInt32(bytes[i + 1]) << 8 }
                    dst[o] = table[Int(v >> 18 & 63)]
                    dst[o + 1] = table[Int(v >> 12 & 63)]
                    dst[o + 2] = rest == 2 ? table[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                    dst[o + 3] = UInt8(ascii: "=")
                }
            }
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
            let valid = reverse.withUnsafeBufferPointer { table in
                var bad: UInt8 = 0
                for i in 0..<n { bad |= table[Int(src[i])] }
                return bad & 0x80 == 0  // every valid digit is < 64; invalid ones are 0xFF
            }
            return valid ? n * 6 / 8 : nil
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

    /// How many bytes `src` decodes to, nil when its length or padding is impossible (its
    /// characters are checked by the decoding itself).
    public static func decodedLength(_ src: UnsafeBufferPointer<UInt8>) -> Int? {
        dataLength(src).map { $0 * 6 / 8 }
    }

    /// Appends the decoding of `src` to `out`; on failure returns false and leaves `out` as it was.
    public static func decode(_ src: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        guard let count = decodedLength(src) else { return false }
        let start = out.count
        guard count > 0 else { return true }
        out.append(contentsOf: repeatElement(0, count: count))
        let ok = out.withUnsafeMutableBytes { decode(src, to: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        if !ok { out.removeSubrange(start...) }
        return ok
    }

    /// Decodes `src` into `dst`, which must hold exactly `decodedLength(src)` bytes (so the caller
    /// can decode straight into the storage it keeps, e.g. PCM samples); false on an invalid
    /// character, a wrong length or padding (then `dst` holds garbage).
    public static func decode(_ src: UnsafeBufferPointer<UInt8>, to dst: UnsafeMutableRawBufferPointer) -> Bool {
        guard let n = dataLength(src), dst.count == n * 6 / 8 else { return false }
        return reverse.withUnsafeBufferPointer { table -> Bool in
            var o = 0
            var i = 0
            // Four digits → three bytes. Valid digits are < 64 and invalid ones 0xFF, so one
            // bit of the OR says whether the group had an invalid character.
            while i + 4 <= n {
                let a = table[Int(src[i])], b = table[Int(src[i + 1])]
                let c = table[Int(src[i + 2])], d = table[Int(src[i + 3])]
                if (a | b | c | d) & 0x80 != 0 { return false }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                dst[o] = UInt8(truncatingIfNeeded: v >> 16)
                dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                dst[o + 2] = UInt8(truncatingIfNeeded: v)
                o += 3
                i += 4
            }
            // The last 2 or 3 digits → 1 or 2 bytes (their spare low bits are dropped).
            let rest = n - i
            if rest >= 2 {
                let a = table[Int(src[i])], b = table[Int(src[i + 1])]
                let c = rest == 3 ? table[Int(src[i + 2])] : 0
                if (a | b | c) & 0x80 != 0 { return false }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                dst[o] = UInt8(truncatingIfNeeded: v >> 16)
                if rest == 3 { dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
            }
            return true
        }
    }
}
