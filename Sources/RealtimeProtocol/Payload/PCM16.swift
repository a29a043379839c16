// The service's audio is raw signed 16-bit little-endian mono PCM inside Base64:
// 16 kHz towards the service, 24 kHz back.

public enum AudioFormat {
    public static let inputSampleRate = 16_000
    public static let outputSampleRate = 24_000
}

public enum PCM16 {
    /// Base64 of `samples` as little-endian bytes.
    public static func base64(_ samples: UnsafeBufferPointer<Int16>) -> String {
        var out: [UInt8] = []
        #if _endian(little)
        Base64.encode(UnsafeRawBufferPointer(samples), into: &out)
        #else
        let le = samples.map { $0.littleEndian }
        le.withUnsafeBytes { Base64.encode($0, into: &out) }
        #endif
        return String(decoding: out, as: UTF8.self)
    }

    public static func base64(_ samples: [Int16]) -> String {
        samples.withUnsafeBufferPointer { base64($0) }
    }

    /// Whether `samples(fromBase64:)` would succeed: Base64 of a whole number of samples.
    public static func isValidBase64(_ text: String) -> Bool {
        guard let n = Base64.decodedCount(text) else { return false }
        return n % 2 == 0
    }

    /// Samples from Base64 little-endian PCM; nil when the text is not Base64 or has an odd byte count.
    /// Decoded straight into the samples' storage (no intermediate byte array: this runs for
    /// every answer delta).
    public static func samples(fromBase64 text: String) -> [Int16]? {
        var text = text
        return text.withUTF8 { src -> [Int16]? in
            guard let bytes = Base64.decodedLength(src), bytes % 2 == 0 else { return nil }
            var ok = false
            let out = [Int16](unsafeUninitializedCapacity: bytes / 2) { buffer, count in
                ok = Base64.decode(src, to: UnsafeMutableRawBufferPointer(buffer))
                count = ok ? bytes / 2 : 0
            }
            guard ok else { return nil }
            #if _endian(little)
            return out
            #else
            return out.map { Int16(littleEndian: $0) }
            #endif
        }
    }
}
