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
    public static func samples(fromBase64 text: String) -> [Int16]? {
        guard let bytes = Base64.decode(text), bytes.count % 2 == 0 else { return nil }
        var out = [Int16](repeating: 0, count: bytes.count / 2)
        #if _endian(little)
        bytes.withUnsafeBytes { src in out.withUnsafeMutableBytes { $0.copyMemory(from: src) } }
        #else
        for i in 0..<out.count {
            out[i] = Int16(bitPattern: UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8)
        }
        #endif
        return out
    }
}
