#if canImport(Glibc)
import Glibc
#endif
import CV4L2Shim
import OmniCore

// The V4L2 kernel API, wrapped once: the one Swift file that fills v4l2_* structs and calls
// ioctl. Above it everything is typed (V4L2Capability, V4L2Format, V4L2Frame) and no fd or
// struct leaks out. Single-planar capture with mmap'ed buffers only, which is what UVC webcams
// and the kernel's vivid test driver offer.
//
// Every kernel call goes through `V4L2Syscalls`, the seam the tests replace with a fake kernel
// (Tests/CameraTests/FakeV4L2Kernel.swift): no /dev/video exists on the build machines.

/// The kernel calls the V4L2 layer makes. Each returns 0 (or a non-negative result) or -errno.
public struct V4L2Syscalls: Sendable {
    public var open: @Sendable (_ path: String) -> Int32
    public var close: @Sendable (_ fd: Int32) -> Void
    public var ioctl: @Sendable (_ fd: Int32, _ request: UInt, _ arg: UnsafeMutableRawPointer) -> Int32
    /// A shared read/write mapping of `length` bytes at `offset`; nil on failure.
    public var mmap: @Sendable (_ fd: Int32, _ length: Int, _ offset: Int) -> UnsafeMutableRawPointer?
    public var munmap: @Sendable (_ address: UnsafeMutableRawPointer, _ length: Int) -> Void
    /// Waits for the fd to be readable: > 0 readable, 0 timed out, -errno on failure;
    /// -ENODEV when the kernel reports POLLERR/POLLHUP (the device went away).
    public var poll: @Sendable (_ fd: Int32, _ timeoutMs: Int32) -> Int32
    /// The /dev/video* nodes, in number order.
    public var deviceNodes: @Sendable () -> [String]

    public init(open: @escaping @Sendable (String) -> Int32, close: @escaping @Sendable (Int32) -> Void,
                ioctl: @escaping @Sendable (Int32, UInt, UnsafeMutableRawPointer) -> Int32,
                mmap: @escaping @Sendable (Int32, Int, Int) -> UnsafeMutableRawPointer?,
                munmap: @escaping @Sendable (UnsafeMutableRawPointer, Int) -> Void,
                poll: @escaping @Sendable (Int32, Int32) -> Int32, deviceNodes: @escaping @Sendable () -> [String]) {
        self.open = open
        self.close = close
        self.ioctl = ioctl
        self.mmap = mmap
        self.munmap = munmap
        self.poll = poll
        self.deviceNodes = deviceNodes
    }

    /// The real kernel.
    public static let kernel = V4L2Syscalls(
        open: { path in
            let fd = Glibc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
            return fd >= 0 ? fd : -errno
        },
        close: { fd in _ = Glibc.close(fd) },
        ioctl: { fd, request, arg in omni_v4l2_ioctl(fd, request, arg) },
        mmap: { fd, length, offset in
            let p = Glibc.mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(offset))
            return p == MAP_FAILED ? nil : p
        },
        munmap: { address, length in _ = Glibc.munmap(address, length) },
        poll: { fd, timeoutMs in
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var rc: Int32
            repeat { rc = Glibc.poll(&p, 1, timeoutMs) } while rc < 0 && errno == EINTR
            if rc < 0 { return -errno }
            if rc > 0 && p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && p.revents & Int16(POLLIN) == 0 {
                return -ENODEV
            }
            return rc
        },
        deviceNodes: {
            var nodes: [(Int, String)] = []
            guard let dir = opendir("/dev") else { return [] }
            defer { closedir(dir) }
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasPrefix("video"), let n = Int(name.dropFirst(5)) { nodes.append((n, "/dev/\(name)")) }
            }
            return nodes.sorted { $0.0 < $1.0 }.map(\.1)
        })
}

/// A V4L2 pixel format code, e.g. MJPG, YUYV, NV12.
public struct V4L2FourCC: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var code: UInt32
    public init(_ code: UInt32) { self.code = code }
    public init(_ s: StaticString) {
        let b = s.utf8Start
        code = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    public static let mjpeg = V4L2FourCC("MJPG")
    public static let jpeg = V4L2FourCC("JPEG")
    public static let yuyv = V4L2FourCC("YUYV")
    public static let nv12 = V4L2FourCC("NV12")

    /// The four characters; a big-endian variant (bit 31 set, v4l2_fourcc_be) is written like
    /// v4l2-ctl writes it, "Y16 -BE" (vivid lists such formats; the bit made the last character
    /// invalid UTF-8).
    public var description: String {
        let be = code & 0x8000_0000 != 0
        let chars = (0..<4).map { UInt8(truncatingIfNeeded: (code & 0x7FFF_FFFF) >> ($0 * 8)) }
        let text = String(decoding: chars.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        return be ? text + "-BE" : text
    }

    /// How omnid reads frames of this format; nil when it cannot.
    public var pixelFormat: CameraPixelFormat? {
        switch self {
        case .mjpeg, .jpeg: .jpeg
        case .yuyv: .yuyv
        case .nv12: .nv12
        default: nil
        }
    }
}

public struct V4L2Capability: Sendable, Equatable {
    public var driver: String
    public var card: String
    public var busInfo: String
    /// The node's own capabilities (device_caps when the driver reports them).
    public var capabilities: UInt32

    public var canCapture: Bool { capabilities & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 }
    public var canStream: Bool { capabilities & UInt32(V4L2_CAP_STREAMING) != 0 }
    /// Capture through the multi-planar API only (not supported here).
    public var multiplanarOnly: Bool { !canCapture && capabilities & UInt32(V4L2_CAP_VIDEO_CAPTURE_MPLANE) != 0 }
}

/// The frame sizes a format offers.
public enum V4L2FrameSizes: Sendable, Equatable {
    case discrete([FrameSize])
    /// Any size from `min` to `max` in steps (continuous is step 1).
    case stepwise(min: FrameSize, max: FrameSize, stepWidth: Int, stepHeight: Int)
}

public struct V4L2Format: Sendable, Equatable {
    public var fourcc: V4L2FourCC
    public var description: String
    public var compressed: Bool
    public var sizes: V4L2FrameSizes
}

/// The format the driver agreed to.
public struct V4L2ActiveFormat: Sendable, Equatable {
    public var fourcc: V4L2FourCC
    public var width: Int
    public var height: Int
    public var bytesPerLine: Int
    public var sizeImage: Int
}

/// One dequeued buffer; hand it back with `V4L2Device.requeue` before it is reused.
public struct V4L2Frame {
    public var index: Int
    public var bytes: UnsafeRawBufferPointer
    public var sequence: UInt32
    /// CLOCK_MONOTONIC time of capture when the driver stamps buffers that way, else nil.
    public var timestamp: Duration?
    /// The driver flagged the data as damaged (V4L2_BUF_FLAG_ERROR).
    public var damaged: Bool
}

public final class V4L2Device {
    public let path: String
    private let sys: V4L2Syscalls
    private var fd: Int32
    private var buffers: [(address: UnsafeMutableRawPointer, length: Int)] = []
    public private(set) var streaming = false

    /// Opens the node (non-blocking); fails with .notFound, .permission, .busy or .io.
    public init(path: String, syscalls: V4L2Syscalls = .kernel) throws(CameraError) {
        self.path = path
        sys = syscalls
        let rc = syscalls.open(path)
        guard rc >= 0 else { throw Self.error(-rc, "cannot open \(path)") }
        fd = rc
    }

    deinit { close() }

    public func capability() throws(CameraError) -> V4L2Capability {
        var cap = v4l2_capability()
        try call(omni_vidioc_querycap, &cap, "VIDIOC_QUERYCAP")
        let caps = cap.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities
        return V4L2Capability(driver: Self.string(cap.driver), card: Self.string(cap.card), busInfo: Self.string(cap.bus_info),
                              capabilities: caps)
    }

    /// Every capture format with its frame sizes.
    public func formats() throws(CameraError) -> [V4L2Format] {
        var out: [V4L2Format] = []
        for index in 0..<64 {
            var d = v4l2_fmtdesc()
            d.index = UInt32(index)
            d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            let rc = sys.ioctl(fd, omni_vidioc_enum_fmt, &d)
            if rc == -EINVAL { break }
            guard rc == 0 else { throw Self.error(-rc, "\(path): VIDIOC_ENUM_FMT") }
            let fourcc = V4L2FourCC(d.pixelformat)
            out.append(V4L2Format(fourcc: fourcc, description: Self.string(d.description),
                                  compressed: d.flags & UInt32(V4L2_FMT_FLAG_COMPRESSED) != 0, sizes: try frameSizes(fourcc)))
        }
        return out
    }

    private func frameSizes(_ fourcc: V4L2FourCC) throws(CameraError) -> V4L2FrameSizes {
        var sizes: [FrameSize] = []
        for index in 0..<256 {
            var f = v4l2_frmsizeenum()
            f.index = UInt32(index)
            f.pixel_format = fourcc.code
            let rc = sys.ioctl(fd, omni_vidioc_enum_framesizes, &f)
            if rc == -EINVAL || rc == -ENOTTY { break }
            guard rc == 0 else { throw Self.error(-rc, "\(path): VIDIOC_ENUM_FRAMESIZES") }
            if f.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append(FrameSize(width: Int(f.discrete.width), height: Int(f.discrete.height)))
            } else {
                let s = f.stepwise
                return .stepwise(min: FrameSize(width: Int(s.min_width), height: Int(s.min_height)),
                                 max: FrameSize(width: Int(s.max_width), height: Int(s.max_height)),
                                 stepWidth: max(1, Int(s.step_width)), stepHeight: max(1, Int(s.step_height)))
            }
        }
        return .discrete(sizes)
    }

    /// Asks for `fourcc` at `width`×`height`; returns what the driver chose (it may adjust the size).
    public func setFormat(_ fourcc: V4L2FourCC, width: Int, height: Int) throws(CameraError) -> V4L2ActiveFormat {
        var f = v4l2_format()
        f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        f.fmt.pix.width = UInt32(width)
        f.fmt.pix.height = UInt32(height)
        f.fmt.pix.pixelformat = fourcc.code
        f.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        try call(omni_vidioc_s_fmt, &f, "VIDIOC_S_FMT \(fourcc) \(width)x\(height)")
        let p = f.fmt.pix
        return V4L2ActiveFormat(fourcc: V4L2FourCC(p.pixelformat), width: Int(p.width), height: Int(p.height),
                                bytesPerLine: Int(p.bytesperline), sizeImage: Int(p.sizeimage))
    }

    /// Maps `count` driver buffers, queues them all and starts the stream.
    public func startStreaming(bufferCount count: Int = 4) throws(CameraError) {
        guard !streaming else { return }
        var req = v4l2_requestbuffers()
        req.count = UInt32(count)
        req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        req.memory = V4L2_MEMORY_MMAP.rawValue
        try call(omni_vidioc_reqbufs, &req, "VIDIOC_REQBUFS")
        guard req.count >= 2 else { throw CameraError(.unsupported, "\(path): the driver gave \(req.count) buffers; 2 are needed") }
        do throws(CameraError) {
            for i in 0..<Int(req.count) {
                var b = Self.buffer(index: i)
                try call(omni_vidioc_querybuf, &b, "VIDIOC_QUERYBUF")
                guard let address = sys.mmap(fd, Int(b.length), Int(b.m.offset)) else {
                    throw CameraError(.io, "\(path): cannot map buffer \(i) (\(b.length) bytes)")
                }
                buffers.append((address, Int(b.length)))
            }
            for i in buffers.indices { try requeue(i) }
            var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
            try call(omni_vidioc_streamon, &type, "VIDIOC_STREAMON")
            streaming = true
        } catch {
            releaseBuffers()
            throw error
        }
    }

    /// Waits up to `timeoutMs` for a filled buffer (0: only what is ready now). nil: none came.
    public func dequeue(timeoutMs: Int32) throws(CameraError) -> V4L2Frame? {
        guard streaming else { return nil }
        var b = Self.buffer(index: 0)
        var rc = sys.ioctl(fd, omni_vidioc_dqbuf, &b)
        if rc == -EAGAIN && timeoutMs != 0 {
            let p = sys.poll(fd, timeoutMs)
            if p == 0 { return nil }
            guard p > 0 else { throw Self.error(-p, "\(path): waiting for a frame") }
            rc = sys.ioctl(fd, omni_vidioc_dqbuf, &b)
        }
        if rc == -EAGAIN { return nil }
        guard rc == 0 else { throw Self.error(-rc, "\(path): VIDIOC_DQBUF") }
        let i = Int(b.index)
        guard buffers.indices.contains(i) else { throw CameraError(.io, "\(path): the driver returned unknown buffer \(i)") }
        let used = min(Int(b.bytesused), buffers[i].length)
        var stamp: Duration?
        if b.flags & UInt32(V4L2_BUF_FLAG_TIMESTAMP_MASK) == UInt32(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC) {
            stamp = .seconds(Int64(b.timestamp.tv_sec)) + .microseconds(Int64(b.timestamp.tv_usec))
        }
        return V4L2Frame(index: i, bytes: UnsafeRawBufferPointer(start: buffers[i].address, count: used),
                         sequence: b.sequence, timestamp: stamp, damaged: b.flags & UInt32(V4L2_BUF_FLAG_ERROR) != 0)
    }

    /// Gives buffer `index` back to the driver.
    public func requeue(_ index: Int) throws(CameraError) {
        var b = Self.buffer(index: index)
        try call(omni_vidioc_qbuf, &b, "VIDIOC_QBUF")
    }

    /// Stops the stream and unmaps the buffers; the device stays open with its format.
    public func stopStreaming() {
        guard streaming || !buffers.isEmpty else { return }
        if streaming {
            var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
            _ = sys.ioctl(fd, omni_vidioc_streamoff, &type)
            streaming = false
        }
        releaseBuffers()
    }

    public func close() {
        guard fd >= 0 else { return }
        stopStreaming()
        sys.close(fd)
        fd = -1
    }

    // MARK: -

    private func releaseBuffers() {
        for b in buffers { sys.munmap(b.address, b.length) }
        buffers = []
        // Frees the driver's buffers so the format can change (count 0, V4L2 §4.1.10).
        var req = v4l2_requestbuffers()
        req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        req.memory = V4L2_MEMORY_MMAP.rawValue
        _ = sys.ioctl(fd, omni_vidioc_reqbufs, &req)
    }

    private func call<T>(_ request: UInt, _ arg: inout T, _ what: String) throws(CameraError) {
        guard fd >= 0 else { throw CameraError(.io, "\(path): \(what) on a closed device") }
        let rc = withUnsafeMutableBytes(of: &arg) { sys.ioctl(fd, request, $0.baseAddress!) }
        guard rc == 0 else { throw Self.error(-rc, "\(path): \(what)") }
    }

    private static func buffer(index: Int) -> v4l2_buffer {
        var b = v4l2_buffer()
        b.index = UInt32(index)
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        b.memory = V4L2_MEMORY_MMAP.rawValue
        return b
    }

    private static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// An errno as the camera layer's error kinds.
    static func error(_ code: Int32, _ what: String) -> CameraError {
        let text = "\(what): \(String(cString: strerror(code)))"
        switch code {
        case ENOENT, ENXIO: return CameraError(.notFound, text)
        case EACCES, EPERM: return CameraError(.permission, text + " (the omnid user needs the video group)")
        case ENODEV, EIO, ESHUTDOWN, EPIPE: return CameraError(.gone, text)
        case EBUSY: return CameraError(.busy, text + " (another program is using the camera)")
        case ENOTTY, EINVAL: return CameraError(.unsupported, text)
        default: return CameraError(.io, text)
        }
    }
}
