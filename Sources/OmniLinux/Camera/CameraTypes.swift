import OmniCore

// The vocabulary of the camera layer: what went wrong, what a captured frame is, and what the
// capture thread hands to the controller.

public struct CameraError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No such device / directory, or no camera at all (`auto`).
        case notFound
        /// The device exists but may not be opened (the omnid user needs the video group).
        case permission
        /// The device went away while in use (unplugged): reopen when it returns.
        case gone
        /// The device offers nothing omnid can use (no MJPEG/YUYV/NV12, no streaming I/O).
        case unsupported
        /// Another program is streaming from it.
        case busy
        /// Anything else the kernel or a file said.
        case io
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// One captured frame, borrowed from its source until the source's next call.
public struct RawFrame {
    public var format: CameraPixelFormat
    public var width: Int
    public var height: Int
    /// Bytes per row of the first plane (YUYV, NV12).
    public var stride: Int
    public var bytes: UnsafeRawBufferPointer
    /// When the frame was captured (the monotonic clock of `ControllerLoop`).
    public var capturedAt: Duration

    public init(format: CameraPixelFormat, width: Int, height: Int, stride: Int, bytes: UnsafeRawBufferPointer,
                capturedAt: Duration) {
        self.format = format
        self.width = width
        self.height = height
        self.stride = stride
        self.bytes = bytes
        self.capturedAt = capturedAt
    }
}

/// An encoded frame ready for `input_image_buffer.append`.
public struct CameraFrame: Sendable, Equatable {
    public var base64: String
    public var jpegBytes: Int
    public var width: Int
    public var height: Int
    public var capturedAt: Duration
    public var encodedAt: Duration
    /// The camera's own JPEG went out unchanged (no decode, no encode).
    public var passthrough: Bool
    /// The quality it was encoded at (nil when passed through).
    public var quality: Int?

    public init(base64: String, jpegBytes: Int, width: Int, height: Int, capturedAt: Duration, encodedAt: Duration,
                passthrough: Bool, quality: Int?) {
        self.base64 = base64
        self.jpegBytes = jpegBytes
        self.width = width
        self.height = height
        self.capturedAt = capturedAt
        self.encodedAt = encodedAt
        self.passthrough = passthrough
        self.quality = quality
    }

    public var summary: String {
        "\(width)x\(height), \(jpegBytes) bytes (\(base64.utf8.count) Base64), "
            + (passthrough ? "passed through" : "quality \(quality ?? 0)")
    }
}

/// Where frames come from: a V4L2 device or a directory of JPEG files. Used by one thread at a
/// time (the capture thread, or `omnid test-camera`).
public protocol CameraSource: AnyObject {
    /// For the log: "/dev/video0 (HD Webcam, MJPEG 1280x720)".
    var name: String { get }
    /// Opens the source (if needed) and starts capturing.
    func start() throws(CameraError)
    /// The next frame captured after this call began, or nil if none came within `timeout`.
    /// The frame's bytes are valid until the next call on the source.
    func nextFrame(timeout: Duration) throws(CameraError) -> RawFrame?
    /// Stops capturing; the source may keep the device open for a quick restart.
    func stop()
    /// Stops and releases everything.
    func close()
}
