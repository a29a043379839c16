// omni-bench-camera: CPU per minute of camera capture + encode at 1 frame a second, and the
// memory the camera adds (see README.md here).
//
//   omni-bench-camera [--seconds 30] [--fps 1]
//   omni-bench-camera --v4l2 /dev/video0 [--seconds 30] [--fps 1]     a real V4L2 camera (vivid in
//                                                                     the VM test) at 640x480 and 1280x720
//
// Each scenario runs the daemon's CameraCapture thread (the same source, encoder and pacing as
// `omnid run`) for --seconds and reports the process's CPU time (user + system, getrusage) per
// minute, the mean capture → encoded time, and VmRSS before the thread started and after it ran.
// Frames come from the file backend (JPEG files; passed through when they fit, decoded and
// encoded when they are larger than the limit) or from a synthetic YUYV source that stands in
// for a V4L2 camera without MJPEG (converted and encoded every frame).
#if canImport(Glibc)
import Glibc
#endif
import Logging
import OmniCore
import OmniJPEG
import OmniLinux
import Synchronization

struct Settings: Sendable {
    var seconds = 30.0
    var fps = 1.0
    /// A V4L2 device to measure instead of the file and synthetic sources.
    var v4l2: String?
}

let settings: Settings = {
    var s = Settings()
    var args = CommandLine.arguments.dropFirst()
    while let arg = args.popFirst() {
        switch arg {
        case "--seconds": s.seconds = Double(args.popFirst() ?? "") ?? s.seconds
        case "--fps": s.fps = Double(args.popFirst() ?? "") ?? s.fps
        case "--v4l2": s.v4l2 = args.popFirst()
        default:
            print("usage: omni-bench-camera [--seconds N] [--fps F] [--v4l2 /dev/videoN]")
            exit(2)
        }
    }
    return s
}()

/// A photo-like test picture: gradients with some texture (a solid colour would flatter the
/// encoder, pure noise would be unlike any camera).
func pictureRGB(_ w: Int, _ h: Int) -> [UInt8] {
    var px = [UInt8](repeating: 0, count: w * h * 3)
    var seed: UInt64 = 12345
    for y in 0..<h {
        for x in 0..<w {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let n = Int(truncatingIfNeeded: (seed >> 61)) - 4
            let i = 3 * (y * w + x)
            px[i] = UInt8(clamping: x * 255 / w + n)
            px[i + 1] = UInt8(clamping: y * 255 / h + n)
            px[i + 2] = UInt8(clamping: ((x / 40 + y / 40) % 2) * 120 + 60 + n)
        }
    }
    return px
}

func jpegFile(_ dir: String, _ w: Int, _ h: Int) throws {
    let px = pictureRGB(w, h)
    let enc = try JPEGEncoder()
    let jpeg = try px.withUnsafeBytes { Array(try enc.encode(rgb: $0.baseAddress!, width: w, height: h, pitch: w * 3, quality: 85)) }
    let fd = open("\(dir)/frame.jpg", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = jpeg.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// YUYV frames of the picture, as a camera without MJPEG delivers them.
final class SyntheticYUYV: CameraSource {
    let size: FrameSize
    let frame: [UInt8]
    let clock = SystemMonotonicClock()
    var next: Duration = .zero
    init(_ w: Int, _ h: Int) {
        size = FrameSize(width: w, height: h)
        let rgb = pictureRGB(w, h)
        var out = [UInt8](repeating: 0, count: w * h * 2)
        for i in 0..<(w * h) {
            let r = Double(rgb[3 * i]), g = Double(rgb[3 * i + 1]), b = Double(rgb[3 * i + 2])
            out[2 * i] = UInt8(clamping: Int(0.299 * r + 0.587 * g + 0.114 * b))
            let chroma = i % 2 == 0 ? -0.169 * r - 0.331 * g + 0.5 * b + 128 : 0.5 * r - 0.419 * g - 0.081 * b + 128
            out[2 * i + 1] = UInt8(clamping: Int(chroma))
        }
        frame = out
    }
    var name: String { "synthetic YUYV \(size)" }
    func start() throws(CameraError) {}
    func nextFrame(timeout: Duration) throws(CameraError) -> RawFrame? {
        frame.withUnsafeBytes { b in
            RawFrame(format: .yuyv, width: size.width, height: size.height, stride: size.width * 2, bytes: b,
                     capturedAt: clock.now())
        }
    }
    func stop() {}
    func close() {}
}

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func rssKiB() -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix("VmRSS:") { return Int(s.split(separator: " ").dropFirst().first ?? "0") ?? 0 }
    }
    return 0
}

struct Stats: Sendable {
    var frames = 0
    var encodeNanos: Int64 = 0
    var bytes = 0
    var passthrough = 0
    var size = ""
}

func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }

func oneDecimal(_ x: Double) -> String {
    let tenths = Int((x * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func run(_ label: String, limit: FrameSize, _ settings: Settings, source: @escaping @Sendable () -> any CameraSource) throws {
    let seconds = settings.seconds, fps = settings.fps
    let stats = Mutex(Stats())
    let rssBefore = rssKiB()
    let cam = CameraCapture(
        options: .init(interval: .nanoseconds(Int64(1e9 / fps))), makeSource: source,
        encoder: .init(limit: limit, quality: 80), light: NoPrivacyLight(), clock: SystemMonotonicClock(),
        logger: Logger(label: "bench")) { f in
            stats.withLock {
                $0.frames += 1
                $0.encodeNanos += (f.encodedAt - f.capturedAt).wholeNanoseconds
                $0.bytes += f.jpegBytes
                if f.passthrough { $0.passthrough += 1 }
                $0.size = "\(f.width)x\(f.height)"
            }
        }
    let cpuBefore = cpuSeconds()
    try cam.start()
    cam.setActive(true)
    usleep(UInt32(seconds * 1e6))
    // While the thread still holds its buffers (source, planes, encoder output).
    let rssRunning = rssKiB()
    cam.setActive(false)
    cam.requestStop()
    cam.join()
    let cpu = cpuSeconds() - cpuBefore
    let s = stats.withLock { $0 }
    let perMinute = cpu / seconds * 60
    let encodeMs = s.frames > 0 ? Double(s.encodeNanos) / Double(s.frames) / 1e6 : 0
    let kib = s.frames > 0 ? s.bytes / s.frames / 1024 : 0
    var line = pad(label, 40) + " " + pad(s.size, 9) + " " + pad(String(s.frames), 6) + " "
    line += pad(oneDecimal(perMinute * 1000), 10) + " " + pad(oneDecimal(encodeMs), 9) + " " + pad(String(kib), 9)
    line += " " + pad(String(rssRunning - rssBefore), 8) + " \(s.passthrough == s.frames ? "passed through" : s.passthrough == 0 ? "encoded" : "\(s.passthrough) of \(s.frames) passed through")"
    print(line)
}

var template = Array("/tmp/omni-bench-camera-XXXXXX".utf8CString)
guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
    print("cannot create a scratch directory")
    exit(1)
}
defer {
    unlink("\(dir)/frame.jpg")
    rmdir(dir)
}
print("camera capture + encode, \(settings.fps) fps, \(Int(settings.seconds)) s per scenario, release build")
print("scenario                                 sent      frames CPU ms/min capture→  KiB/frame RSS +KiB")
print("                                                                     enc ms")
do {
    if let device = settings.v4l2 {
        // The camera's sizes as the daemon would pick them with these limits (the largest that
        // fits); whether its MJPEG is passed through or YUYV/NV12 encoded shows in the last column.
        for (w, h) in [(640, 480), (1280, 720)] {
            let limit = FrameSize(width: w, height: h)
            try run("V4L2 \(device) at most \(w)x\(h)", limit: limit, settings) {
                V4L2CameraSource(selection: .path(device), limit: limit, clock: SystemMonotonicClock())
            }
        }
        exit(0)
    }
    let hd = FrameSize(width: 1280, height: 720)
    for (w, h, label) in [(640, 480, "file 640x480 JPEG"), (1280, 720, "file 1280x720 JPEG"),
                          (1920, 1080, "file 1920x1080 JPEG (scaled)")] {
        try jpegFile(dir, w, h)
        let d = dir
        try run(label, limit: hd, settings) { FileCameraSource(directory: d, clock: SystemMonotonicClock()) }
    }
    try run("YUYV 640x480", limit: hd, settings) { SyntheticYUYV(640, 480) }
    try run("YUYV 1280x720", limit: hd, settings) { SyntheticYUYV(1280, 720) }
    try run("YUYV 1920x1080 (scaled)", limit: hd, settings) { SyntheticYUYV(1920, 1080) }
} catch {
    print("benchmark failed: \(error)")
    exit(1)
}
