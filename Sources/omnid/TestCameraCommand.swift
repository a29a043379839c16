import Logging
import OmniCore
import OmniLinux
import OmniSystem
#if canImport(Glibc)
import Glibc
#endif

/// One frame through the same pipeline the daemon uses (source, format choice, encoder and its
/// limits), written to a file, with what it took. `--device` tries another camera without
/// editing the config (e.g. the kernel's vivid driver: `--device /dev/video0`).
struct TestCameraCommand {
    static let info = CommandInfo(
        name: "test-camera",
        abstract: "Grab one frame through the configured camera pipeline, write it to a file, print its size and timing.",
        options: [
            .init(name: "config", valueName: "path", help: "Configuration file (the [camera] section).",
                  defaultValue: "/etc/omni.conf"),
            .init(name: "device", valueName: "camera", help: "Camera instead of the configured one: auto, /dev/videoN or file:DIR."),
            .init(name: "output", valueName: "path", help: "Where to write the JPEG.", defaultValue: "camera-test.jpg"),
            .init(name: "frames", valueName: "n",
                  help: "Frames to take (the last one is kept); some cameras need a few to settle exposure.", defaultValue: "1"),
        ]
    ) { a in
        let frames = try a.number("frames")
        guard frames == frames.rounded() else { throw UsageError("--frames must be a whole number") }
        try TestCameraCommand(config: a.string("config"), device: a.values["device"], output: a.string("output"),
                              frames: Int(frames)).run()
    }

    var config: String
    var device: String?
    var output: String
    var frames: Int

    func run() throws {
        OmniLogging.bootstrap(level: .warning)
        guard (1...300).contains(frames) else { throw UsageError("--frames must be between 1 and 300") }
        var camera = try cameraSettings()
        if let device {
            guard let d = CameraDeviceSetting(parsing: device), d != .none else {
                throw UsageError("--device must be auto, a device path such as /dev/video0, or file:DIR")
            }
            camera.device = d
        }
        guard camera.enabled else {
            printError("error: no camera: [camera] device is \"none\" in \(config); give --device auto, /dev/videoN or file:DIR")
            throw ExitCode(1)
        }
        let clock = SystemMonotonicClock()
        let limit = FrameSize(width: camera.maxWidth, height: camera.maxHeight)
        let source = CameraDevices.source(camera.device, limit: limit, clock: clock)!
        let light = privacyLight(camera)
        do {
            let encoder = try CameraFrameEncoder(settings: CameraFrameEncoder.Settings(camera))
            let began = clock.now()
            light.set(true)
            defer {
                source.close()
                light.set(false)
            }
            try source.start()
            print("camera: \(source.name)")
            var firstAt: Duration?
            var last: (jpeg: [UInt8], size: FrameSize, passthrough: Bool, quality: Int?, captured: Duration, encoded: Duration)?
            for _ in 0..<frames {
                guard let raw = try source.nextFrame(timeout: .seconds(5)) else {
                    throw CameraError(.io, "no frame within 5 s")
                }
                firstAt = firstAt ?? clock.now()
                let captured = raw.capturedAt
                let jpeg = try encoder.encode(raw)
                last = (Array(jpeg.bytes), jpeg.size, jpeg.passthrough, jpeg.quality, captured, clock.now())
            }
            let f = last!
            try write(f.jpeg, to: output)
            let base64 = (f.jpeg.count + 2) / 3 * 4
            print("frame: \(f.size), \(f.jpeg.count) bytes (\(base64) Base64, limit \(CameraLimits.maxBase64Bytes)), "
                  + (f.passthrough ? "the camera's JPEG passed through" : "encoded at quality \(f.quality ?? 0)"))
            print("capture → encoded: \(DaemonCamera.ms(f.encoded - f.captured)) ms; start → first frame: \(DaemonCamera.ms(firstAt! - began)) ms")
            print("wrote \(output)")
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// The [camera] settings from the config; with --device, a missing or broken config file
    /// only costs the defaults (a first try on a fresh board).
    private func cameraSettings() throws -> OmniConfig.Camera {
        do {
            return try ConfigLoader.load(path: config, env: Files.configEnvironment()).config.camera
        } catch {
            guard device != nil else {
                printError("error: \(error)")
                throw ExitCode(exitConfigError)
            }
            printError("note: \(config) not used (\(error.message)); camera defaults apply")
            return OmniConfig.Camera()
        }
    }

    /// The privacy LED lights while the frame is taken; if the daemon holds its line, no LED.
    private func privacyLight(_ camera: OmniConfig.Camera) -> any CameraPrivacyLight {
        do {
            return try GPIOPrivacyLight.make(camera.privacyLED, backend: LibgpiodBackend(), logger: Logger(label: "omnid.camera"))
        } catch {
            printError("note: privacy LED not available (\(error.message))")
            return NoPrivacyLight()
        }
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CameraError(.io, "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw CameraError(.io, "cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}
