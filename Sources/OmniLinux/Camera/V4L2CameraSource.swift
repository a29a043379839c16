import OmniCore

// A V4L2 camera as a CameraSource: picks the device (`auto` or a path), negotiates the format
// (CameraFormatChoice: MJPEG within the limits, else YUYV/NV12), streams through mmap'ed
// buffers and hands out the freshest frame. The device stays open between turns with its
// format set (streaming off, so the privacy LED is off), which makes the next turn's first
// frame come sooner; it is closed after an error so that a camera plugged back in is opened anew.

public final class V4L2CameraSource: CameraSource {
    public enum Selection: Sendable, Equatable {
        /// The first node that can capture in a usable format.
        case auto
        case path(String)
    }

    private let selection: Selection
    private let limit: FrameSize
    private let sys: V4L2Syscalls
    private let clock: any MonotonicClock
    private var device: V4L2Device?
    private var card = ""
    private var format: V4L2ActiveFormat?
    public private(set) var choice: CameraFormatChoice?
    /// The buffer handed out last; given back to the driver at the next call.
    private var held: Int?
    /// A drained frame captured this recently counts as fresh.
    static let freshness = Duration.milliseconds(50)

    public init(selection: Selection, limit: FrameSize, syscalls: V4L2Syscalls = .kernel, clock: any MonotonicClock) {
        self.selection = selection
        self.limit = limit
        sys = syscalls
        self.clock = clock
    }

    public var name: String {
        let path = device?.path ?? { if case .path(let p) = selection { return p } else { return "auto" } }()
        guard let f = format else { return path }
        return "\(path) (\(card), \(f.fourcc) \(f.width)x\(f.height)\(choice.map { $0.passthrough ? ", passed through" : ", encoded at \($0.output)" } ?? ""))"
    }

    public func start() throws(CameraError) {
        if device == nil { try open() }
        guard let device else { return }
        do throws(CameraError) {
            try device.startStreaming()
        } catch {
            close()
            throw error
        }
    }

    public func nextFrame(timeout: Duration) throws(CameraError) -> RawFrame? {
        guard let device, let format, let kind = format.fourcc.pixelFormat else {
            throw CameraError(.io, "camera not started")
        }
        do throws(CameraError) {
            try giveBack()
            let asked = clock.now()
            // Frames that waited in the queue while nobody asked are stale; keep only the newest,
            // and only if it was captured just now.
            var newest: V4L2Frame?
            while let f = try device.dequeue(timeoutMs: 0) {
                if let old = newest { try device.requeue(old.index) }
                newest = f
            }
            if let f = newest, f.damaged || (f.timestamp.map { asked - $0 > Self.freshness } ?? true) {
                try device.requeue(f.index)
                newest = nil
            }
            if newest == nil {
                let deadline = asked + timeout
                while newest == nil {
                    let left = deadline - clock.now()
                    guard left > .zero, let f = try device.dequeue(timeoutMs: Int32(max(1, left.wholeMilliseconds))) else {
                        return nil
                    }
                    if f.damaged { try device.requeue(f.index) } else { newest = f }
                }
            }
            let f = newest!
            held = f.index
            let captured = min(f.timestamp ?? clock.now(), clock.now())
            return RawFrame(format: kind, width: format.width, height: format.height, stride: format.bytesPerLine,
                            bytes: f.bytes, capturedAt: captured)
        } catch {
            if error.kind == .gone { close() }
            throw error
        }
    }

    public func stop() {
        held = nil
        device?.stopStreaming()
    }

    public func close() {
        held = nil
        device?.close()
        device = nil
        format = nil
    }

    // MARK: -

    private func giveBack() throws(CameraError) {
        guard let i = held, let device else { return }
        held = nil
        try device.requeue(i)
    }

    private func open() throws(CameraError) {
        switch selection {
        case .path(let p):
            try open(p)
        case .auto:
            var reasons: [String] = []
            for node in sys.deviceNodes() {
                do throws(CameraError) {
                    try open(node)
                    return
                } catch {
                    reasons.append(error.message)
                }
            }
            throw CameraError(.notFound, reasons.isEmpty ? "no camera found (no /dev/video* device)"
                                : "no usable camera found: " + reasons.joined(separator: "; "))
        }
    }

    private func open(_ path: String) throws(CameraError) {
        let d = try V4L2Device(path: path, syscalls: sys)
        do throws(CameraError) {
            let cap = try d.capability()
            guard !cap.multiplanarOnly else {
                throw CameraError(.unsupported, "\(path) (\(cap.card)) offers only the multi-planar API, which omnid does not use")
            }
            guard cap.canCapture, cap.canStream else {
                throw CameraError(.unsupported, "\(path) (\(cap.card)) is not a streaming video capture device")
            }
            let offers = try d.formats().compactMap(Self.offer)
            guard let choice = CameraFormatChoice.choose(offers, limit: limit) else {
                throw CameraError(.unsupported, "\(path) (\(cap.card)) offers no MJPEG, YUYV or NV12 format")
            }
            let want = choice.format == .jpeg ? V4L2FourCC.mjpeg : choice.format == .yuyv ? .yuyv : .nv12
            var fourcc = want
            if choice.format == .jpeg, let f = try d.formats().first(where: { $0.fourcc.pixelFormat == .jpeg }) {
                fourcc = f.fourcc  // MJPG or JPEG, whichever the driver calls it
            }
            let active = try d.setFormat(fourcc, width: choice.capture.width, height: choice.capture.height)
            guard active.fourcc.pixelFormat == choice.format else {
                throw CameraError(.unsupported, "\(path): asked for \(fourcc), the driver chose \(active.fourcc)")
            }
            guard active.width > 0, active.height > 0, choice.format == .jpeg || active.bytesPerLine >= active.width else {
                throw CameraError(.unsupported, "\(path): the driver reported an unusable format \(active.width)x\(active.height)")
            }
            device = d
            card = cap.card
            format = active
            self.choice = CameraFormatChoice(format: choice.format, capture: FrameSize(width: active.width, height: active.height),
                                             output: FrameSize(width: active.width, height: active.height).fitted(in: limit))
        } catch {
            d.close()
            throw error
        }
    }

    /// A driver format as the chooser sees it; nil for formats omnid cannot read.
    static func offer(_ f: V4L2Format) -> CameraFormatOffer? {
        guard let kind = f.fourcc.pixelFormat else { return nil }
        switch f.sizes {
        case .discrete(let sizes): return CameraFormatOffer(format: kind, sizes: sizes)
        case .stepwise(let lo, let hi, let sw, let sh):
            return CameraFormatOffer(format: kind, sizes: CameraFormatOffer.candidates(min: lo, max: hi, stepWidth: sw, stepHeight: sh))
        }
    }
}
