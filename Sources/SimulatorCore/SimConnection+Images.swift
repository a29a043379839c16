import RealtimeProtocol

// `input_image_buffer.append` (protocol §3.5): checked as the service checks it — after audio in
// the same turn, ≤ 256 KB of Base64, a JPEG (markers, a frame header with a size within 1080p),
// decodable — and at a sane rate. Accepted images wait for the next commit (manual or VAD) and
// ride along with that turn; `--answer describe` then says what they were.
extension SimConnection {
    func appendImage(_ image: String, now: Duration, into out: inout [SimAction]) {
        guard hasAudioSinceCommit else {
            out.append(error(SimError.imageBeforeAudio))
            return
        }
        guard image.utf8.count <= options.maxImageBase64Bytes else {
            out.append(error(SimError.imageTooLarge(limit: options.maxImageBase64Bytes)))
            return
        }
        guard let bytes = Base64.decode(image), bytes.count > 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            out.append(error(SimError.badImage))
            return
        }
        let header: JPEGHeader
        do {
            header = try JPEGHeader.parse(bytes)
        } catch let why {
            out.append(error(SimError.undecodableImage("\(why)")))
            return
        }
        let long = max(header.width, header.height), short = min(header.width, header.height)
        guard long <= 1920, short <= 1080 else {
            out.append(error(SimError.imageDimensions(width: header.width, height: header.height)))
            return
        }
        let atMs = Double(now.components.seconds) * 1000 + Double(now.components.attoseconds) / 1e15
        if let last = lastImageAtMs, atMs - last < options.imageMinIntervalMs {
            out.append(error(SimError.imageTooFast(intervalMs: Int(atMs - last), minimumMs: Int(options.imageMinIntervalMs))))
            return
        }
        var mean: (red: Int, green: Int, blue: Int)?
        if let decode = options.decodeImage {
            switch decode(bytes) {
            case .decoded(let r, let g, let b): mean = (r, g, b)
            case .failed(let why):
                out.append(error(SimError.undecodableImage(why)))
                return
            }
        }
        lastImageAtMs = atMs
        let accepted = SimImage(bytes: bytes.count, base64Bytes: image.utf8.count, width: header.width, height: header.height,
                                process: header.process.rawValue, mean: mean, atMs: atMs)
        pendingImages.append(accepted)
        // Images ride along with the next commit; nothing is sent for them, only logged.
        out.append(.imageReceived(accepted))
    }

    /// The images that go with the turn being committed.
    func takePendingImages() {
        turnImages = pendingImages
        pendingImages = []
        if !turnImages.isEmpty { videoTurns = min(SimConnection.maxVideoTurns, videoTurns + 1) }
    }
}
