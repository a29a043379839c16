import CTurboJPEG

// libjpeg-turbo's TurboJPEG API, wrapped once (the one Swift file that touches a tjhandle):
// omnid encodes camera frames (YUV planes from V4L2, RGB from a decoded file) and omni-sim
// decodes what it receives. Each encoder/decoder keeps its handle and output buffer for its whole
// life, so a frame a second costs no allocation; neither is thread-safe (one per thread).

public struct JPEGError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Chroma subsampling of YUV planes and of an encoded JPEG.
public enum JPEGSubsampling: Sendable, Equatable, CaseIterable {
    case s444, s422, s420, gray

    var tj: Int32 {
        switch self {
        case .s444: Int32(TJSAMP_444.rawValue)
        case .s422: Int32(TJSAMP_422.rawValue)
        case .s420: Int32(TJSAMP_420.rawValue)
        case .gray: Int32(TJSAMP_GRAY.rawValue)
        }
    }

    init?(tj: Int32) {
        guard let s = Self.allCases.first(where: { $0.tj == tj }) else { return nil }
        self = s
    }
}

/// Three borrowed planes (Y, Cb, Cr; only Y for grey), valid for one call.
public struct YUVPlanes {
    public var width: Int
    public var height: Int
    public var subsampling: JPEGSubsampling
    public var planes: [UnsafeRawPointer]
    public var strides: [Int]

    public init(width: Int, height: Int, subsampling: JPEGSubsampling, planes: [UnsafeRawPointer], strides: [Int]) {
        self.width = width
        self.height = height
        self.subsampling = subsampling
        self.planes = planes
        self.strides = strides
    }
}

public final class JPEGEncoder {
    private let handle: tjhandle
    private var buffer: UnsafeMutablePointer<UInt8>?
    private var capacity = 0

    public init() throws(JPEGError) {
        guard let h = tjInitCompress() else { throw JPEGError("tjInitCompress failed: \(String(cString: tjGetErrorStr2(nil)))") }
        handle = h
    }

    deinit {
        tjDestroy(handle)
        if let buffer { tjFree(buffer) }
    }

    /// Encodes YUV planes at `quality` (1…100). The result lives in this encoder's buffer and is
    /// valid until its next call.
    public func encode(_ image: YUVPlanes, quality: Int) throws(JPEGError) -> UnsafeRawBufferPointer {
        try reserve(width: image.width, height: image.height, subsampling: image.subsampling)
        var size = UInt(capacity)
        var out = buffer
        var planes: [UnsafePointer<UInt8>?] = image.planes.map { $0.assumingMemoryBound(to: UInt8.self) }
        var strides = image.strides.map { Int32($0) }
        let rc = planes.withUnsafeMutableBufferPointer { p in
            tjCompressFromYUVPlanes(handle, p.baseAddress, Int32(image.width), &strides, Int32(image.height),
                                    image.subsampling.tj, &out, &size, Int32(quality), TJFLAG_NOREALLOC)
        }
        guard rc == 0 else { throw failure("encoding \(image.width)x\(image.height) planes") }
        return UnsafeRawBufferPointer(start: buffer, count: Int(size))
    }

    /// Encodes packed 8-bit RGB (3 bytes a pixel, `pitch` bytes a row) at `quality`, with 4:2:0
    /// chroma. The result is valid until this encoder's next call.
    public func encode(rgb: UnsafeRawPointer, width: Int, height: Int, pitch: Int, quality: Int) throws(JPEGError)
        -> UnsafeRawBufferPointer
    {
        try reserve(width: width, height: height, subsampling: .s420)
        var size = UInt(capacity)
        var out = buffer
        let rc = tjCompress2(handle, rgb.assumingMemoryBound(to: UInt8.self), Int32(width), Int32(pitch), Int32(height),
                             Int32(TJPF_RGB.rawValue), &out, &size, JPEGSubsampling.s420.tj, Int32(quality), TJFLAG_NOREALLOC)
        guard rc == 0 else { throw failure("encoding a \(width)x\(height) RGB image") }
        return UnsafeRawBufferPointer(start: buffer, count: Int(size))
    }

    /// Grows the output buffer to the worst case for this size (never shrinks it).
    private func reserve(width: Int, height: Int, subsampling: JPEGSubsampling) throws(JPEGError) {
        let need = Int(tjBufSize(Int32(width), Int32(height), subsampling.tj))
        guard need > 0, need < Int(Int32.max) else { throw JPEGError("cannot encode a \(width)x\(height) image") }
        guard need > capacity else { return }
        if let buffer { tjFree(buffer) }
        buffer = tjAlloc(Int32(need))
        guard buffer != nil else {
            capacity = 0
            throw JPEGError("out of memory for a \(need)-byte JPEG buffer")
        }
        capacity = need
    }

    private func failure(_ what: String) -> JPEGError {
        JPEGError("\(what): \(String(cString: tjGetErrorStr2(handle)))")
    }
}

public struct JPEGInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var subsampling: JPEGSubsampling?
}

/// Packed RGB pixels in a decoder's buffer, valid until its next call.
public struct RGBPixels {
    public var width: Int
    public var height: Int
    /// 3 bytes a pixel, rows `width * 3` bytes apart.
    public var bytes: UnsafeRawBufferPointer
}

public final class JPEGDecoder {
    private let handle: tjhandle
    private var buffer: UnsafeMutableRawPointer?
    private var capacity = 0

    public init() throws(JPEGError) {
        guard let h = tjInitDecompress() else { throw JPEGError("tjInitDecompress failed: \(String(cString: tjGetErrorStr2(nil)))") }
        handle = h
    }

    deinit {
        tjDestroy(handle)
        buffer?.deallocate()
    }

    public func info(_ jpeg: UnsafeRawBufferPointer) throws(JPEGError) -> JPEGInfo {
        var w: Int32 = 0, h: Int32 = 0, samp: Int32 = 0, cs: Int32 = 0
        guard let base = jpeg.baseAddress,
              tjDecompressHeader3(handle, base.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count), &w, &h, &samp, &cs) == 0
        else { throw JPEGError("not a readable JPEG: \(String(cString: tjGetErrorStr2(handle)))") }
        return JPEGInfo(width: Int(w), height: Int(h), subsampling: JPEGSubsampling(tj: samp))
    }

    /// Decodes to RGB, scaled down by libjpeg's factors (n/8) to the largest size that fits in
    /// `maxWidth` × `maxHeight` (the decoder scales while decoding, which costs less than
    /// decoding in full). Corrupt data is an error, not a warning: a frame that decodes to grey
    /// blocks must not be passed off as a picture.
    public func decodeRGB(_ jpeg: UnsafeRawBufferPointer, fittingWidth maxWidth: Int, height maxHeight: Int)
        throws(JPEGError) -> RGBPixels
    {
        let full = try info(jpeg)
        let (w, h) = Self.scaledSize(width: full.width, height: full.height, fittingWidth: maxWidth, height: maxHeight)
        let need = w * h * 3
        if need > capacity {
            buffer?.deallocate()
            buffer = UnsafeMutableRawPointer.allocate(byteCount: need, alignment: 16)
            capacity = need
        }
        let rc = tjDecompress2(handle, jpeg.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count),
                               buffer!.assumingMemoryBound(to: UInt8.self), Int32(w), Int32(w * 3), Int32(h),
                               Int32(TJPF_RGB.rawValue), TJFLAG_STOPONWARNING)
        guard rc == 0 else { throw JPEGError("cannot decode the JPEG: \(String(cString: tjGetErrorStr2(handle)))") }
        return RGBPixels(width: w, height: h, bytes: UnsafeRawBufferPointer(start: buffer, count: need))
    }

    /// The size libjpeg's largest n/8 scaling factor gives within the bounds (at least 1/8).
    public static func scaledSize(width: Int, height: Int, fittingWidth maxW: Int, height maxH: Int) -> (Int, Int) {
        var n = 8
        while n > 1 {
            let sw = (width * n + 7) / 8, sh = (height * n + 7) / 8
            if sw <= maxW && sh <= maxH { break }
            n -= 1
        }
        return ((width * n + 7) / 8, (height * n + 7) / 8)
    }
}
