import CV4L2Shim
import Foundation
import OmniCore
import OmniLinux

/// A V4L2 kernel in Swift, behind `V4L2Syscalls`: cameras with formats and sizes, mmap'ed
/// buffers, a stream whose frames come every `frameInterval` of a ManualClock (a wait in `poll`
/// moves that clock to the next frame), and unplugging. Enough of the API (V4L2 §4.1) for the
/// camera layer's real code to run unchanged; the kernel's `vivid` driver checks the rest.
final class FakeV4L2Kernel: @unchecked Sendable {
    // @unchecked: every mutable field is touched under `lock`.
    struct Camera {
        var card: String
        /// fourcc → discrete sizes, in the order ENUM_FMT reports them.
        var formats: [(V4L2FourCC, [FrameSize])]
        /// The bytes of one frame in `fourcc` at `size`.
        var frame: @Sendable (_ fourcc: V4L2FourCC, _ size: FrameSize, _ sequence: Int) -> [UInt8]
        var frameInterval: Duration = .milliseconds(33)
        var plugged = true
    }

    private struct Open {
        var path: String
        var format: (fourcc: V4L2FourCC, size: FrameSize)?
        var buffers: [UnsafeMutableRawPointer] = []
        var bufferLength = 0
        var queued: [Int] = []
        var streaming = false
        var streamOnAt: Duration = .zero
        var nextFrame = 0
    }

    let clock: any MonotonicClock
    /// How `poll` waits: moves a ManualClock, or sleeps for real (for the capture thread).
    private let wait: @Sendable (Duration) -> Void
    private let lock = NSLock()
    private var cameras: [String: Camera] = [:]
    private var fds: [Int32: Open] = [:]
    private var nextFD: Int32 = 100
    /// Every ioctl request made, by name (for assertions).
    private(set) var calls: [String] = []

    /// Frames on a ManualClock that `poll` advances (nothing sleeps).
    init(clock: ManualClock = ManualClock(.seconds(1000))) {
        self.clock = clock
        wait = { clock.advance(by: $0) }
    }

    /// Frames in real time, for tests of the capture thread.
    init(realTime: Void) {
        clock = SystemMonotonicClock()
        wait = { d in usleep(UInt32(max(0, d.wholeNanoseconds / 1000))) }
    }

    func add(_ path: String, _ camera: Camera) { lock.withLock { cameras[path] = camera } }
    func unplug(_ path: String) { lock.withLock { cameras[path]?.plugged = false } }
    func replug(_ path: String) { lock.withLock { cameras[path]?.plugged = true } }
    var openCount: Int { lock.withLock { fds.count } }
    var streamingCount: Int { lock.withLock { fds.values.filter(\.streaming).count } }

    var syscalls: V4L2Syscalls {
        V4L2Syscalls(
            open: { [self] path in lock.withLock { open(path) } },
            close: { [self] fd in lock.withLock { close(fd) } },
            ioctl: { [self] fd, request, arg in lock.withLock { ioctl(fd, request, arg) } },
            mmap: { [self] fd, length, offset in lock.withLock { mmap(fd, length, offset) } },
            munmap: { _, _ in },
            poll: { [self] fd, timeout in
                // Decided under the lock, waited outside it (an unplug may come meanwhile).
                let (rc, delay) = lock.withLock { poll(fd, timeout) }
                if delay > .zero { wait(delay) }
                guard rc == 1 else { return rc }
                return lock.withLock { fds[fd].flatMap { cameras[$0.path] }?.plugged == true } ? 1 : -19
            },
            deviceNodes: { [self] in lock.withLock { cameras.keys.sorted() } })
    }

    // MARK: Calls (under the lock)

    private func open(_ path: String) -> Int32 {
        guard let c = cameras[path], c.plugged else { return -2 }  // ENOENT
        let fd = nextFD
        nextFD += 1
        fds[fd] = Open(path: path)
        return fd
    }

    private func close(_ fd: Int32) {
        guard let o = fds.removeValue(forKey: fd) else { return }
        for b in o.buffers { b.deallocate() }
    }

    private func mmap(_ fd: Int32, _ length: Int, _ offset: Int) -> UnsafeMutableRawPointer? {
        guard let o = fds[fd], offset % 4096 == 0, offset / 4096 < o.buffers.count, length <= o.bufferLength else { return nil }
        return o.buffers[offset / 4096]
    }

    /// The result of a wait, and how long the wait takes.
    private func poll(_ fd: Int32, _ timeoutMs: Int32) -> (Int32, Duration) {
        let timeout = Duration.milliseconds(Int64(max(0, timeoutMs)))
        guard let o = fds[fd], let c = cameras[o.path], c.plugged else { return (-19, .zero) }  // ENODEV
        guard o.streaming, !o.queued.isEmpty else { return (0, timeout) }
        let due = o.streamOnAt + c.frameInterval * o.nextFrame
        let now = clock.now()
        if due <= now { return (1, .zero) }
        return due - now <= timeout ? (1, due - now) : (0, timeout)
    }

    private func ioctl(_ fd: Int32, _ request: UInt, _ arg: UnsafeMutableRawPointer) -> Int32 {
        guard var o = fds[fd] else { return -9 }  // EBADF
        guard let c = cameras[o.path], c.plugged else { return -19 }  // ENODEV
        defer { fds[fd] = o }
        switch request {
        case omni_vidioc_querycap:
            calls.append("QUERYCAP")
            let cap = arg.assumingMemoryBound(to: v4l2_capability.self)
            cap.pointee = v4l2_capability()
            write(c.card, into: &cap.pointee.card)
            write("fake", into: &cap.pointee.driver)
            write("platform:fake", into: &cap.pointee.bus_info)
            let caps = UInt32(V4L2_CAP_VIDEO_CAPTURE) | UInt32(V4L2_CAP_STREAMING)
            cap.pointee.capabilities = caps | UInt32(V4L2_CAP_DEVICE_CAPS)
            cap.pointee.device_caps = caps
            return 0
        case omni_vidioc_enum_fmt:
            let d = arg.assumingMemoryBound(to: v4l2_fmtdesc.self)
            let i = Int(d.pointee.index)
            guard i < c.formats.count else { return -22 }  // EINVAL
            let f = c.formats[i].0
            d.pointee.pixelformat = f.code
            d.pointee.flags = f == .mjpeg ? UInt32(V4L2_FMT_FLAG_COMPRESSED) : 0
            write(f == .mjpeg ? "Motion-JPEG" : "\(f)", into: &d.pointee.description)
            return 0
        case omni_vidioc_enum_framesizes:
            let s = arg.assumingMemoryBound(to: v4l2_frmsizeenum.self)
            guard let sizes = c.formats.first(where: { $0.0.code == s.pointee.pixel_format })?.1 else { return -22 }
            let i = Int(s.pointee.index)
            guard i < sizes.count else { return -22 }
            s.pointee.type = V4L2_FRMSIZE_TYPE_DISCRETE.rawValue
            s.pointee.discrete.width = UInt32(sizes[i].width)
            s.pointee.discrete.height = UInt32(sizes[i].height)
            return 0
        case omni_vidioc_s_fmt:
            calls.append("S_FMT")
            guard !o.streaming, o.buffers.isEmpty else { return -16 }  // EBUSY
            let f = arg.assumingMemoryBound(to: v4l2_format.self)
            let want = V4L2FourCC(f.pointee.fmt.pix.pixelformat)
            let format = c.formats.first(where: { $0.0 == want }) ?? c.formats[0]
            // The offered size closest in area to the one asked for (drivers adjust, never fail).
            let asked = Int(f.pointee.fmt.pix.width) * Int(f.pointee.fmt.pix.height)
            let size = format.1.min { abs($0.area - asked) < abs($1.area - asked) }!
            o.format = (format.0, size)
            f.pointee.fmt.pix.pixelformat = format.0.code
            f.pointee.fmt.pix.width = UInt32(size.width)
            f.pointee.fmt.pix.height = UInt32(size.height)
            f.pointee.fmt.pix.bytesperline = UInt32(format.0 == .yuyv ? size.width * 2 : format.0 == .nv12 ? size.width : 0)
            f.pointee.fmt.pix.sizeimage = UInt32(format.0 == .mjpeg ? size.area * 2 : size.area * 2)
            return 0
        case omni_vidioc_reqbufs:
            calls.append("REQBUFS")
            let r = arg.assumingMemoryBound(to: v4l2_requestbuffers.self)
            guard !o.streaming else { return -16 }
            for b in o.buffers { b.deallocate() }
            o.buffers = []
            o.queued = []
            guard r.pointee.count > 0, let f = o.format else { return 0 }
            r.pointee.count = min(r.pointee.count, 8)
            o.bufferLength = f.size.area * 2
            o.buffers = (0..<Int(r.pointee.count)).map { _ in .allocate(byteCount: o.bufferLength, alignment: 4096) }
            return 0
        case omni_vidioc_querybuf:
            let b = arg.assumingMemoryBound(to: v4l2_buffer.self)
            guard Int(b.pointee.index) < o.buffers.count else { return -22 }
            b.pointee.length = UInt32(o.bufferLength)
            b.pointee.m.offset = UInt32(Int(b.pointee.index) * 4096)
            return 0
        case omni_vidioc_qbuf:
            let i = Int(arg.assumingMemoryBound(to: v4l2_buffer.self).pointee.index)
            guard i < o.buffers.count, !o.queued.contains(i) else { return -22 }
            o.queued.append(i)
            return 0
        case omni_vidioc_dqbuf:
            let b = arg.assumingMemoryBound(to: v4l2_buffer.self)
            guard o.streaming, let f = o.format else { return -22 }
            // Frames captured so far; the driver filled the queued buffers with the latest ones.
            let now = clock.now()
            let latest = Int((now - o.streamOnAt) / c.frameInterval)
            guard latest >= o.nextFrame, !o.queued.isEmpty else { return -11 }  // EAGAIN
            let n = max(o.nextFrame, latest - (o.queued.count - 1))
            o.nextFrame = n + 1
            let i = o.queued.removeFirst()
            let data = c.frame(f.fourcc, f.size, n)
            let used = min(data.count, o.bufferLength)
            data.withUnsafeBytes { o.buffers[i].copyMemory(from: $0.baseAddress!, byteCount: used) }
            b.pointee.index = UInt32(i)
            b.pointee.bytesused = UInt32(used)
            b.pointee.sequence = UInt32(n)
            b.pointee.flags = UInt32(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
            let t = o.streamOnAt + c.frameInterval * n
            b.pointee.timestamp.tv_sec = Int(t.components.seconds)
            b.pointee.timestamp.tv_usec = Int(t.components.attoseconds / 1_000_000_000_000)
            return 0
        case omni_vidioc_streamon:
            calls.append("STREAMON")
            guard !o.buffers.isEmpty else { return -22 }
            o.streaming = true
            o.streamOnAt = clock.now()
            o.nextFrame = 0
            return 0
        case omni_vidioc_streamoff:
            calls.append("STREAMOFF")
            o.streaming = false
            o.queued = []
            return 0
        default:
            return -25  // ENOTTY
        }
    }

    private func write<T>(_ s: String, into field: inout T) {
        withUnsafeMutableBytes(of: &field) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, b) in s.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
    }
}

