// Minimal RIFF/WAVE codec for the `file:` audio backend and tests: 16-bit (and 24/32-bit,
// reduced to 16) integer PCM, any rate and channel count, WAVE_FORMAT_PCM or
// WAVE_FORMAT_EXTENSIBLE with a PCM sub-format. Unknown chunks are skipped.

public struct WAVAudio: Sendable, Equatable {
    public var sampleRate: Int
    public var channels: Int
    /// Interleaved samples.
    public var samples: [Int16]

    public init(sampleRate: Int, channels: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.samples = samples
    }

    public var frameCount: Int { channels == 0 ? 0 : samples.count / channels }
}

public enum WAVError: Error, Equatable, CustomStringConvertible {
    case notRIFFWave
    case missingChunk(String)
    case unsupportedFormat(String)
    case truncated

    public var description: String {
        switch self {
        case .notRIFFWave: "not a RIFF/WAVE file"
        case .missingChunk(let id): "no '\(id)' chunk"
        case .unsupportedFormat(let why): "unsupported WAV format: \(why)"
        case .truncated: "WAV file is truncated"
        }
    }
}

public enum WAV {
    /// Size of the header `header(...)` writes.
    public static let headerSize = 44

    /// A canonical 44-byte header for 16-bit PCM. `dataBytes` may be patched later.
    public static func header(sampleRate: Int, channels: Int, dataBytes: Int) -> [UInt8] {
        var h: [UInt8] = []
        h.reserveCapacity(headerSize)
        func tag(_ s: String) { h.append(contentsOf: Array(s.utf8)) }
        func u32(_ v: Int) { let x = UInt32(truncatingIfNeeded: v); for i in 0..<4 { h.append(UInt8((x >> (8 * UInt32(i))) & 0xff)) } }
        func u16(_ v: Int) { let x = UInt16(truncatingIfNeeded: v); h.append(UInt8(x & 0xff)); h.append(UInt8(x >> 8)) }
        tag("RIFF"); u32(36 + dataBytes); tag("WAVE")
        tag("fmt "); u32(16); u16(1); u16(channels); u32(sampleRate)
        u32(sampleRate * channels * 2); u16(channels * 2); u16(16)
        tag("data"); u32(dataBytes)
        return h
    }

    /// The whole file for `audio`.
    public static func encode(_ audio: WAVAudio) -> [UInt8] {
        var bytes = header(sampleRate: audio.sampleRate, channels: audio.channels, dataBytes: audio.samples.count * 2)
        bytes.reserveCapacity(headerSize + audio.samples.count * 2)
        for s in audio.samples {
            let u = UInt16(bitPattern: s)
            bytes.append(UInt8(u & 0xff))
            bytes.append(UInt8(u >> 8))
        }
        return bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> WAVAudio {
        try bytes.withUnsafeBufferPointer { try decode($0) }
    }

    public static func decode(_ b: UnsafeBufferPointer<UInt8>) throws -> WAVAudio {
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func tag(_ o: Int) -> String { String(decoding: b[o..<(o + 4)], as: UTF8.self) }
        guard b.count >= 12, tag(0) == "RIFF", tag(8) == "WAVE" else { throw WAVError.notRIFFWave }

        var offset = 12
        var format: (tag: Int, channels: Int, rate: Int, bits: Int)?
        while offset + 8 <= b.count {
            let id = tag(offset)
            var size = u32(offset + 4)
            let body = offset + 8
            if id == "fmt " {
                guard size >= 16, body + 16 <= b.count else { throw WAVError.truncated }
                var formatTag = u16(body)
                if formatTag == 0xFFFE, size >= 40, body + 40 <= b.count {
                    formatTag = u16(body + 24)  // first two bytes of the sub-format GUID
                }
                format = (formatTag, u16(body + 2), u32(body + 4), u16(body + 14))
            } else if id == "data" {
                guard let f = format else { throw WAVError.missingChunk("fmt ") }
                guard f.tag == 1 else { throw WAVError.unsupportedFormat("format tag \(f.tag), only integer PCM") }
                guard f.channels > 0, f.rate > 0 else { throw WAVError.unsupportedFormat("\(f.channels) channels at \(f.rate) Hz") }
                guard [16, 24, 32].contains(f.bits) else { throw WAVError.unsupportedFormat("\(f.bits) bits per sample") }
                // Streams that never patched their sizes say 0 or 0xFFFFFFFF: take what is there.
                if size == 0 || size == 0xFFFF_FFFF || body + size > b.count { size = b.count - body }
                let bytesPerSample = f.bits / 8
                let count = size / bytesPerSample / f.channels * f.channels
                var samples = [Int16](repeating: 0, count: count)
                for i in 0..<count {
                    let o = body + i * bytesPerSample + bytesPerSample - 2  // top two bytes
                    samples[i] = Int16(bitPattern: UInt16(b[o]) | UInt16(b[o + 1]) << 8)
                }
                return WAVAudio(sampleRate: f.rate, channels: f.channels, samples: samples)
            }
            offset = body + size + (size & 1)
        }
        throw WAVError.missingChunk(format == nil ? "fmt " : "data")
    }
}
