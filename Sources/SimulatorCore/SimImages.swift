import RealtimeProtocol

// What omni-sim learns from each `input_image_buffer.append`, and how it names a colour. The
// pixels themselves are decoded outside SimulatorCore (omni-sim injects libjpeg-turbo through
// `SimOptions.decodeImage`), so this target stays pure Swift; without a decoder an image is still
// checked (markers, frame header, size) and only its colour is unknown.

/// A decoder's verdict on one JPEG.
public enum SimImageDecoding: Sendable, Equatable {
    /// The image decodes; its mean colour.
    case decoded(red: Int, green: Int, blue: Int)
    /// It does not decode, and why.
    case failed(String)
}

/// One accepted image.
public struct SimImage: Sendable, Equatable {
    /// JPEG bytes.
    public var bytes: Int
    /// Base64 characters as received.
    public var base64Bytes: Int
    public var width: Int
    public var height: Int
    public var process: String
    /// Mean colour, when a decoder was available.
    public var mean: (red: Int, green: Int, blue: Int)?
    /// Milliseconds since the connection opened.
    public var atMs: Double

    public var colourName: String? { mean.map { SimImage.colourName(red: $0.red, green: $0.green, blue: $0.blue) } }

    public static func == (a: SimImage, b: SimImage) -> Bool {
        a.bytes == b.bytes && a.base64Bytes == b.base64Bytes && a.width == b.width && a.height == b.height
            && a.process == b.process && a.atMs == b.atMs && a.mean?.red == b.mean?.red && a.mean?.green == b.mean?.green
            && a.mean?.blue == b.mean?.blue
    }

    /// "640×480, 5430 bytes (7240 Base64), mostly red (220,30,30)"
    public var summary: String {
        var s = "\(width)×\(height) \(process), \(bytes) bytes (\(base64Bytes) Base64)"
        if let m = mean, let name = colourName { s += ", mostly \(name) (\(m.red),\(m.green),\(m.blue))" }
        return s
    }

    /// A plain colour word for a mean RGB: black/grey/white when unsaturated, else the hue's name.
    public static func colourName(red r: Int, green g: Int, blue b: Int) -> String {
        let hi = max(r, g, b), lo = min(r, g, b), delta = hi - lo
        if hi < 50 { return "black" }
        if delta * 100 < 20 * hi { return hi > 200 ? "white" : "grey" }
        // Hue in degrees (HSV).
        var hue: Double
        if hi == r { hue = 60 * Double(g - b) / Double(delta) }
        else if hi == g { hue = 60 * (2 + Double(b - r) / Double(delta)) }
        else { hue = 60 * (4 + Double(r - g) / Double(delta)) }
        if hue < 0 { hue += 360 }
        switch hue {
        case ..<15: return "red"
        case ..<45: return "orange"
        case ..<70: return "yellow"
        case ..<160: return "green"
        case ..<200: return "cyan"
        case ..<260: return "blue"
        case ..<300: return "purple"
        case ..<345: return "magenta"
        default: return "red"
        }
    }

    /// What `--answer describe` says about the images of a turn.
    public static func describe(_ images: [SimImage]) -> String {
        func one(_ i: SimImage) -> String {
            "\(i.width)×\(i.height)" + (i.colourName.map { " mostly \($0)" } ?? "")
        }
        switch images.count {
        case 0: return "I see no image."
        case 1:
            let i = images[0]
            return "I see one \(i.width)×\(i.height) image" + (i.colourName.map { ", mostly \($0)." } ?? ".")
        default:
            return "I see \(images.count) images: " + images.map(one).joined(separator: ", then ") + "."
        }
    }
}

extension SimError {
    /// [INF] the service's limit is 1080p; its message for a larger image is not quoted anywhere.
    static func imageDimensions(width: Int, height: Int) -> ErrorDetail {
        invalidValue("Image of \(width)x\(height) exceeds the maximum resolution of 1920x1080.", param: "image")
    }

    /// [INF] the service asks for about one frame a second; omni-sim refuses bursts.
    static func imageTooFast(intervalMs: Int, minimumMs: Int) -> ErrorDetail {
        invalidRequest("Images are appended too fast: \(intervalMs) ms after the previous one; at least \(minimumMs) ms apart (about 1 per second).",
                       param: "image")
    }

    /// [INF]
    static func undecodableImage(_ reason: String) -> ErrorDetail {
        invalidValue("Invalid image: the JPEG cannot be decoded (\(reason)).", param: "image")
    }
}
