import OmniJPEG
import RealtimeProtocol
import SimulatorCore

// The executable's side of image checking: libjpeg-turbo decodes each image (at 1/8 scale where
// the size allows, which costs little) to prove it decodes and to find its mean colour, and each
// accepted image becomes one `_sim.image` line in the --log file.
enum SimImageLog {
    @Sendable static func decode(_ jpeg: [UInt8]) -> SimImageDecoding {
        do {
            let decoder = try JPEGDecoder()
            let px = try jpeg.withUnsafeBytes { try decoder.decodeRGB($0, fittingWidth: 256, height: 256) }
            var r = 0, g = 0, b = 0
            let n = px.width * px.height
            for i in 0..<n {
                r += Int(px.bytes[3 * i])
                g += Int(px.bytes[3 * i + 1])
                b += Int(px.bytes[3 * i + 2])
            }
            guard n > 0 else { return .failed("no pixels") }
            return .decoded(red: r / n, green: g / n, blue: b / n)
        } catch {
            return .failed("\(error)")
        }
    }

    /// `{"type":"_sim.image","bytes":…,"base64_bytes":…,"width":…,"height":…,"process":…,"mean_rgb":[r,g,b],"colour":…}`
    static func event(_ i: SimImage) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("bytes", .int(Int64(i.bytes))), ("base64_bytes", .int(Int64(i.base64Bytes))),
            ("width", .int(Int64(i.width))), ("height", .int(Int64(i.height))), ("process", .string(i.process)),
        ]
        if let m = i.mean {
            fields.append(("mean_rgb", .array([.int(Int64(m.red)), .int(Int64(m.green)), .int(Int64(m.blue))])))
            fields.append(("colour", .string(i.colourName ?? "")))
        }
        return EventLog.pseudo("_sim.image", fields)
    }
}
