// Which of a camera's formats and sizes to capture in, and what size to send. Pure, so the rules
// are tested without a camera: a JPEG format (MJPEG) at a size within the limits is passed
// through untouched; otherwise YUYV or NV12 within the limits is converted and encoded; when
// nothing fits, the smallest size above the limits is captured and scaled down.

/// How a captured frame's bytes are laid out.
public enum CameraPixelFormat: String, Sendable, Equatable, CaseIterable {
    /// A whole JPEG image (a camera's MJPEG frame, or a file).
    case jpeg
    /// Packed 4:2:2, Y0 U Y1 V.
    case yuyv
    /// A Y plane, then one plane of interleaved U V at half the size both ways.
    case nv12
}

public struct FrameSize: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var area: Int { width * height }
    public var description: String { "\(width)x\(height)" }

    public func fits(in limit: FrameSize) -> Bool { width <= limit.width && height <= limit.height }

    /// The largest size with this aspect ratio inside `limit` (this size if it already fits),
    /// rounded down to even numbers for 4:2:0 chroma.
    public func fitted(in limit: FrameSize) -> FrameSize {
        guard !fits(in: limit) else { return self }
        // Scale by the tighter of the two ratios, in integers: w * lw / W vs h * lh / H.
        let byWidth = limit.width * height <= limit.height * width
        var w = byWidth ? limit.width : max(2, width * limit.height / height)
        var h = byWidth ? max(2, height * limit.width / width) : limit.height
        w -= w % 2
        h -= h % 2
        return FrameSize(width: max(2, w), height: max(2, h))
    }
}

/// A format a camera offers, with its sizes (stepwise ranges already turned into candidates).
public struct CameraFormatOffer: Sendable, Equatable {
    public var format: CameraPixelFormat
    public var sizes: [FrameSize]

    public init(format: CameraPixelFormat, sizes: [FrameSize]) {
        self.format = format
        self.sizes = sizes
    }

    /// Common sizes within a stepwise range (plus its largest), for drivers that report ranges.
    public static func candidates(min: FrameSize, max: FrameSize, stepWidth: Int, stepHeight: Int) -> [FrameSize] {
        let common = [(1920, 1080), (1280, 960), (1280, 720), (1024, 768), (960, 540), (800, 600), (640, 480),
                      (640, 360), (320, 240)]
        var out = common.map { FrameSize(width: $0.0, height: $0.1) }.filter { s in
            s.width >= min.width && s.width <= max.width && s.height >= min.height && s.height <= max.height
                && (s.width - min.width) % stepWidth == 0 && (s.height - min.height) % stepHeight == 0
        }
        out.append(max)
        return out
    }
}

public struct CameraFormatChoice: Sendable, Equatable, CustomStringConvertible {
    public var format: CameraPixelFormat
    /// What to ask the camera for.
    public var capture: FrameSize
    /// What to send (`capture` fitted into the limits).
    public var output: FrameSize

    public init(format: CameraPixelFormat, capture: FrameSize, output: FrameSize) {
        self.format = format
        self.capture = capture
        self.output = output
    }

    /// The JPEG can go out as the camera made it (when it is also small enough in bytes).
    public var passthrough: Bool { format == .jpeg && capture == output }

    public var description: String {
        "\(format.rawValue) \(capture)" + (capture == output ? "" : " scaled to \(output)")
    }

    /// The choice for these offers within `limit`; nil when no offered format is usable.
    public static func choose(_ offers: [CameraFormatOffer], limit: FrameSize) -> CameraFormatChoice? {
        func largestFitting(_ f: CameraPixelFormat) -> FrameSize? {
            offers.filter { $0.format == f }.flatMap(\.sizes).filter { $0.fits(in: limit) && $0.area > 0 }
                .max { $0.area < $1.area }
        }
        if let s = largestFitting(.jpeg) { return CameraFormatChoice(format: .jpeg, capture: s, output: s) }
        // Raw frames are converted anyway; prefer the larger picture, then YUYV (no plane split).
        let raw = [CameraPixelFormat.yuyv, .nv12].compactMap { f in largestFitting(f).map { (f, $0) } }
        if let (f, s) = raw.max(by: { $0.1.area < $1.1.area }) {
            return CameraFormatChoice(format: f, capture: s, output: s)
        }
        // Nothing fits: the smallest picture above the limits, scaled down (JPEG first on a tie:
        // less USB bandwidth, and libjpeg scales while decoding).
        var best: (CameraPixelFormat, FrameSize)?
        for f in [CameraPixelFormat.jpeg, .yuyv, .nv12] {
            for s in offers.filter({ $0.format == f }).flatMap(\.sizes) where s.area > 0 {
                if best == nil || s.area < best!.1.area { best = (f, s) }
            }
        }
        guard let (f, s) = best else { return nil }
        return CameraFormatChoice(format: f, capture: s, output: s.fitted(in: limit))
    }
}
