import OmniCore
import OmniJPEG
import RealtimeProtocol

// A captured frame → a JPEG the service takes: at most the configured size, at most 256 KB
// after Base64. A camera's own JPEG that already fits goes out as it is (Huffman tables added if
// the camera left them out); anything else is converted and encoded with libjpeg-turbo, with the
// quality lowered step by step, then the size halved, until it fits. Every buffer (planes, JPEG
// output, Base64) is kept for the next frame: this runs once a second for as long as turns last.

/// One encoded frame, borrowed from the encoder (or, passed through, from the frame) until the
/// next call of either.
public struct EncodedJPEG {
    public var bytes: UnsafeRawBufferPointer
    public var size: FrameSize
    public var passthrough: Bool
    /// nil when passed through.
    public var quality: Int?
}

public final class CameraFrameEncoder {
    public struct Settings: Sendable, Equatable {
        public var limit: FrameSize
        public var quality: Int
        /// The largest JPEG whose Base64 form the service takes.
        public var maxJPEGBytes: Int
        /// Quality is not lowered below this; the picture is made smaller instead.
        public var minQuality: Int

        public init(limit: FrameSize, quality: Int, maxJPEGBytes: Int = CameraLimits.maxJPEGBytes, minQuality: Int = 30) {
            self.limit = limit
            self.quality = quality
            self.maxJPEGBytes = maxJPEGBytes
            self.minQuality = min(minQuality, quality)
        }

        public init(_ camera: OmniConfig.Camera) {
            self.init(limit: FrameSize(width: camera.maxWidth, height: camera.maxHeight), quality: camera.jpegQuality)
        }
    }

    public let settings: Settings
    private let encoder: JPEGEncoder
    private let decoder: JPEGDecoder
    private var planes: YUV420Image?
    /// A camera JPEG with the Huffman tables added.
    private let completed = ByteStore()
    private var base64: [UInt8] = []

    public init(settings: Settings) throws(CameraError) {
        self.settings = settings
        do {
            encoder = try JPEGEncoder()
            decoder = try JPEGDecoder()
        } catch {
            throw CameraError(.io, "libjpeg-turbo: \(error)")
        }
    }

    /// The frame as a JPEG within the limits.
    public func encode(_ frame: RawFrame) throws(CameraError) -> EncodedJPEG {
        do {
            switch frame.format {
            case .jpeg: return try jpeg(frame)
            case .yuyv, .nv12: return try raw(frame)
            }
        } catch let e as JPEGError {
            throw CameraError(.io, "frame \(frame.width)x\(frame.height) \(frame.format.rawValue): \(e)")
        } catch let e as CameraError {
            throw e
        } catch {
            throw CameraError(.io, "\(error)")
        }
    }

    /// The frame encoded and in Base64, stamped with its capture and encode times.
    public func cameraFrame(_ frame: RawFrame, encodedAt: () -> Duration) throws(CameraError) -> CameraFrame {
        let jpeg = try encode(frame)
        base64.removeAll(keepingCapacity: true)
        Base64.encode(jpeg.bytes, into: &base64)
        return CameraFrame(base64: String(decoding: base64, as: UTF8.self), jpegBytes: jpeg.bytes.count,
                           width: jpeg.size.width, height: jpeg.size.height, capturedAt: frame.capturedAt,
                           encodedAt: encodedAt(), passthrough: jpeg.passthrough, quality: jpeg.quality)
    }

    // MARK: -

    private func jpeg(_ frame: RawFrame) throws -> EncodedJPEG {
        let header: JPEGHeader
        do {
            header = try JPEGHeader.parse(frame.bytes)
        } catch {
            throw CameraError(.io, "a frame that is not a readable JPEG (\(frame.bytes.count) bytes): \(error)")
        }
        let size = FrameSize(width: header.width, height: header.height)
        var bytes = frame.bytes
        if let withTables = MJPEGHuffman.completed(frame.bytes, header: header) {
            bytes = completed.store(withTables)
        }
        if size.fits(in: settings.limit) && bytes.count <= settings.maxJPEGBytes && header.hasEndMarker {
            return EncodedJPEG(bytes: bytes, size: size, passthrough: true, quality: nil)
        }
        // Too big in pixels or bytes (or cut short): decode (scaled while decoding) and encode again.
        var limit = settings.limit
        for _ in 0..<4 {
            let rgb = try decoder.decodeRGB(bytes, fittingWidth: limit.width, height: limit.height)
            if let out = try encodeFitting({ q in
                try encoder.encode(rgb: rgb.bytes.baseAddress!, width: rgb.width, height: rgb.height, pitch: rgb.width * 3,
                                   quality: q)
            }) {
                return EncodedJPEG(bytes: out.bytes, size: FrameSize(width: rgb.width, height: rgb.height), passthrough: false,
                                   quality: out.quality)
            }
            limit = FrameSize(width: max(16, rgb.width / 2), height: max(16, rgb.height / 2))
        }
        throw CameraError(.io, "a \(size) JPEG does not fit in \(settings.maxJPEGBytes) bytes even at a quarter size")
    }

    private func raw(_ frame: RawFrame) throws -> EncodedJPEG {
        let source = FrameSize(width: frame.width, height: frame.height)
        var target = source.fitted(in: settings.limit)
        target = FrameSize(width: target.width - target.width % 2, height: target.height - target.height % 2)
        for _ in 0..<4 {
            if planes?.size != target { planes = YUV420Image(size: target) }
            switch frame.format {
            case .yuyv: planes!.fill(yuyv: frame.bytes, source: source, stride: frame.stride)
            case .nv12: planes!.fill(nv12: frame.bytes, source: source, stride: frame.stride)
            case .jpeg: break
            }
            let image = planes!
            let out = try image.y.withUnsafeBytes { y in
                try image.u.withUnsafeBytes { u in
                    try image.v.withUnsafeBytes { v in
                        let p = YUVPlanes(width: target.width, height: target.height, subsampling: .s420,
                                          planes: [y.baseAddress!, u.baseAddress!, v.baseAddress!],
                                          strides: [target.width, target.width / 2, target.width / 2])
                        return try encodeFitting { q in try encoder.encode(p, quality: q) }
                    }
                }
            }
            if let out { return EncodedJPEG(bytes: out.bytes, size: target, passthrough: false, quality: out.quality) }
            target = FrameSize(width: max(16, target.width / 4 * 2), height: max(16, target.height / 4 * 2))
        }
        throw CameraError(.io, "a \(source) frame does not fit in \(settings.maxJPEGBytes) bytes even at a quarter size")
    }

    /// Encodes at the configured quality, then lower in steps of 10 down to `minQuality`; nil
    /// when even that is too big (the caller makes the picture smaller).
    private func encodeFitting(_ encode: (Int) throws -> UnsafeRawBufferPointer) throws
        -> (bytes: UnsafeRawBufferPointer, quality: Int)?
    {
        var q = settings.quality
        while true {
            let out = try encode(q)
            if out.count <= settings.maxJPEGBytes { return (out, q) }
            if q <= settings.minQuality { return nil }
            q = max(settings.minQuality, q - 10)
        }
    }
}

/// A growable byte buffer whose address stays valid until the next `store`.
final class ByteStore {
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit { buffer.deallocate() }

    func store(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        if bytes.count > buffer.count {
            buffer.deallocate()
            buffer = .allocate(byteCount: bytes.count, alignment: 16)
        }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }
}
