// The header of a JPEG image (ITU T.81 §B): its size, components and coding process, read from
// the marker segments in pure Swift. Both sides of the image rule use it: omni-sim to validate
// every `input_image_buffer.append` (markers, decodable size), omnid to check a camera's MJPEG
// frame before passing it through (many UVC cameras leave out the Huffman tables).

public struct JPEGHeader: Sendable, Equatable {
    public enum Process: String, Sendable, Equatable {
        /// SOF0: what the service and every decoder take.
        case baseline
        /// SOF1: extended sequential, Huffman.
        case extended
        /// SOF2: progressive, Huffman.
        case progressive
    }

    public var width: Int
    public var height: Int
    /// 1 (grey) or 3 (YCbCr).
    public var components: Int
    public var process: Process
    /// A DHT segment comes before the first scan. Motion-JPEG frames often omit it; decoders
    /// then assume the standard tables of T.81 Annex K.3.
    public var hasHuffmanTables: Bool
    /// Offset of the first SOS marker (where missing tables would have to go).
    public var startOfScan: Int
    /// The data ends with the EOI marker (FF D9); a frame cut short does not.
    public var hasEndMarker: Bool
}

public struct JPEGHeaderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

extension JPEGHeader {
    /// Reads the header of `bytes`; fails with what is wrong when it is not a JPEG a decoder could
    /// read (no SOI, a segment running past the end, no frame header before the first scan, an
    /// arithmetic-coded or lossless process, a zero size).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JPEGHeaderError) -> JPEGHeader {
        let n = bytes.count
        guard n >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw JPEGHeaderError("no JPEG start-of-image marker (FF D8)") }
        var i = 2
        var frame: (w: Int, h: Int, c: Int, p: Process)?
        var huffman = false
        while true {
            // Markers may be preceded by any number of FF fill bytes (B.1.1.2).
            guard i < n, bytes[i] == 0xFF else { throw JPEGHeaderError("expected a marker at byte \(i)") }
            while i < n, bytes[i] == 0xFF { i += 1 }
            guard i < n else { throw JPEGHeaderError("truncated after a marker at byte \(i)") }
            let marker = bytes[i]
            i += 1
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }  // no length
            if marker == 0xD9 { throw JPEGHeaderError("end of image before any scan") }
            guard i + 2 <= n else { throw JPEGHeaderError("truncated segment length at byte \(i)") }
            let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard length >= 2, i + length <= n else {
                throw JPEGHeaderError("segment FF \(hex(marker)) of \(length) bytes runs past the end (\(n) bytes)")
            }
            switch marker {
            case 0xC0, 0xC1, 0xC2:
                guard length >= 8 else { throw JPEGHeaderError("frame header too short") }
                let h = Int(bytes[i + 3]) << 8 | Int(bytes[i + 4])
                let w = Int(bytes[i + 5]) << 8 | Int(bytes[i + 6])
                let c = Int(bytes[i + 7])
                guard w > 0, h > 0 else { throw JPEGHeaderError("frame size \(w)x\(h) is empty (DNL is not supported)") }
                guard c == 1 || c == 3 else { throw JPEGHeaderError("\(c) components; 1 (grey) or 3 (colour) expected") }
                frame = (w, h, c, marker == 0xC0 ? .baseline : marker == 0xC1 ? .extended : .progressive)
            case 0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw JPEGHeaderError("coding process SOF\(marker - 0xC0) (lossless or arithmetic) is not supported")
            case 0xC4:
                huffman = true
            case 0xDA:
                guard let f = frame else { throw JPEGHeaderError("scan before any frame header (SOF)") }
                return JPEGHeader(width: f.w, height: f.h, components: f.c, process: f.p, hasHuffmanTables: huffman,
                                  startOfScan: i - 2, hasEndMarker: bytes[n - 2] == 0xFF && bytes[n - 1] == 0xD9)
            default:
                break
            }
            i += length
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(JPEGHeaderError) -> JPEGHeader {
        let r = bytes.withUnsafeBytes { b in Result(catching: { () throws(JPEGHeaderError) in try parse(b) }) }
        return try r.get()
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}
