// A 4:2:0 planar image (I420) that raw camera frames are converted into before JPEG encoding.
// YUYV (4:2:2 packed) and NV12 (4:2:0, interleaved chroma) map onto it without any colour
// conversion: only chroma is rearranged (and, for YUYV, two rows averaged). When the camera's
// size is above the limits the same pass scales down by nearest-neighbour sampling, which is
// enough for a vision model and costs no more than the copy.
//
// The planes are allocated once per size and reused for every frame (the capture thread runs
// about once a second for hours).

public struct YUV420Image: Sendable {
    public private(set) var size: FrameSize
    public private(set) var y: [UInt8]
    public private(set) var u: [UInt8]
    public private(set) var v: [UInt8]
    /// Source column and row for each output column and row, for the current source size.
    private var sourceSize: FrameSize?
    private var xMap: [Int] = []
    private var yMap: [Int] = []

    public init(size: FrameSize) {
        precondition(size.width >= 2 && size.height >= 2 && size.width % 2 == 0 && size.height % 2 == 0,
                     "I420 needs an even size, got \(size)")
        self.size = size
        y = [UInt8](repeating: 0, count: size.area)
        u = [UInt8](repeating: 128, count: size.area / 4)
        v = [UInt8](repeating: 128, count: size.area / 4)
    }

    public var chromaWidth: Int { size.width / 2 }

    /// Fills the image from a YUYV frame of `source` size with rows `stride` bytes apart.
    public mutating func fill(yuyv src: UnsafeRawBufferPointer, source: FrameSize, stride: Int) {
        guard src.count >= stride * (source.height - 1) + source.width * 2 else { return }
        prepareMaps(source)
        let w = size.width, h = size.height, cw = w / 2
        let xm = xMap, ym = yMap
        y.withUnsafeMutableBufferPointer { yp in
            for row in 0..<h {
                let s = ym[row] * stride
                let o = row * w
                for col in 0..<w { yp[o + col] = src[s + xm[col] * 2] }
            }
        }
        // Chroma: output pixel (cx, cy) covers luma (2cx, 2cy); its YUYV pair holds U at byte 1
        // and V at byte 3. Rows 2cy and 2cy+1 of the output are averaged (4:2:2 → 4:2:0).
        u.withUnsafeMutableBufferPointer { up in
            v.withUnsafeMutableBufferPointer { vp in
                for cy in 0..<(h / 2) {
                    let r0 = ym[2 * cy] * stride, r1 = ym[2 * cy + 1] * stride
                    for cx in 0..<cw {
                        let pair = (xm[2 * cx] / 2) * 4
                        up[cy * cw + cx] = UInt8((Int(src[r0 + pair + 1]) + Int(src[r1 + pair + 1]) + 1) / 2)
                        vp[cy * cw + cx] = UInt8((Int(src[r0 + pair + 3]) + Int(src[r1 + pair + 3]) + 1) / 2)
                    }
                }
            }
        }
    }

    /// Fills the image from an NV12 frame: the Y plane (rows `stride` bytes apart) followed by
    /// the interleaved U/V plane (same stride, half the rows).
    public mutating func fill(nv12 src: UnsafeRawBufferPointer, source: FrameSize, stride: Int) {
        let uvBase = stride * source.height
        guard src.count >= uvBase + stride * (source.height / 2 - 1) + source.width else { return }
        prepareMaps(source)
        let w = size.width, h = size.height, cw = w / 2
        let xm = xMap, ym = yMap
        y.withUnsafeMutableBufferPointer { yp in
            for row in 0..<h {
                let s = ym[row] * stride
                let o = row * w
                for col in 0..<w { yp[o + col] = src[s + xm[col]] }
            }
        }
        u.withUnsafeMutableBufferPointer { up in
            v.withUnsafeMutableBufferPointer { vp in
                for cy in 0..<(h / 2) {
                    let s = uvBase + (ym[2 * cy] / 2) * stride
                    for cx in 0..<cw {
                        let c = (xm[2 * cx] / 2) * 2
                        up[cy * cw + cx] = src[s + c]
                        vp[cy * cw + cx] = src[s + c + 1]
                    }
                }
            }
        }
    }

    /// Nearest-neighbour maps from this image's pixels to the source's (identity at equal sizes).
    private mutating func prepareMaps(_ source: FrameSize) {
        guard sourceSize != source else { return }
        sourceSize = source
        xMap = (0..<size.width).map { min(source.width - 1, ($0 * 2 + 1) * source.width / (size.width * 2)) }
        yMap = (0..<size.height).map { min(source.height - 1, ($0 * 2 + 1) * source.height / (size.height * 2)) }
    }
}
