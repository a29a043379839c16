// The [camera] section: where frames come from, how often, how big, and for which turns. The
// service takes JPEG only, 1080p at most, ≤ 256 KB after Base64, about one frame a second
// (protocol §3.5); the ranges below keep every setting inside what it accepts.

/// Where camera frames come from (`[camera] device`).
public enum CameraDeviceSetting: Sendable, Equatable, CustomStringConvertible {
    /// No camera: turns carry audio only.
    case none
    /// The first V4L2 capture device that offers MJPEG, YUYV or NV12.
    case auto
    /// A V4L2 device node, e.g. /dev/video0 or /dev/v4l/by-id/….
    case v4l2(path: String)
    /// The JPEG files of a directory, in name order, one per frame, cycling (virtual board,
    /// tests, the demo).
    case files(directory: String)

    /// Parses the config value; nil when it is none of the four forms.
    public init?(parsing s: String) {
        switch s {
        case "none": self = .none
        case "auto": self = .auto
        case let p where p.hasPrefix("file:") && p.count > 5: self = .files(directory: String(p.dropFirst(5)))
        case let p where p.hasPrefix("/"): self = .v4l2(path: p)
        default: return nil
        }
    }

    /// The config value again.
    public var description: String {
        switch self {
        case .none: "none"
        case .auto: "auto"
        case .v4l2(let path): path
        case .files(let dir): "file:\(dir)"
        }
    }
}

/// Which turns carry frames (`[camera] when`).
public enum CameraTrigger: String, Sendable, Equatable, CaseIterable {
    /// Every turn.
    case turn
    /// Only turns started with the board's look gesture (`[button] double_press = "look"` or
    /// `long_press = "look"`).
    case look
}

/// The camera's privacy LED (`[camera] privacy_led`): lit exactly while frames are captured.
public enum CameraPrivacyLED: Sendable, Equatable {
    case none
    /// No hardware: "camera LED on/off" lines in the log (virtual board, tests).
    case virtual
    case gpio(GPIOLineRef, activeLow: Bool)
}

extension OmniConfig {
    public struct Camera: Sendable, Equatable {
        public var device: CameraDeviceSetting = .none
        /// Frames per second while a turn is open.
        public var fps = 1.0
        /// Frames larger than this are scaled down to fit (aspect kept).
        public var maxWidth = 1280
        public var maxHeight = 720
        /// libjpeg quality of frames omnid encodes; lowered per frame until the frame fits.
        public var jpegQuality = 80
        public var when: CameraTrigger = .turn
        public var privacyLED: CameraPrivacyLED = .none

        public init() {}

        public var enabled: Bool { device != .none }
        /// The time between two frames.
        public var frameInterval: Duration { .nanoseconds(Int64((1e9 / fps).rounded())) }
    }
}

/// The service's and this appliance's limits on camera frames.
public enum CameraLimits {
    public static let fps = 0.2...2.0
    /// 1080p is the most the service accepts; below 160×120 nothing is recognisable.
    public static let width = 160...1920
    public static let height = 120...1080
    public static let jpegQuality = 20...95
    /// The service's limit on one image, Base64 characters.
    public static let maxBase64Bytes = 256 * 1024
    /// A frame captured longer ago than this is never sent.
    public static let maxFrameAge = Duration.seconds(1)
    /// A look gesture counts for the turn that is open, or the next one started within this.
    public static let lookWindow = Duration.seconds(10)

    /// The JPEG size (bytes) whose Base64 form is at most `maxBase64Bytes`.
    public static var maxJPEGBytes: Int { maxBase64Bytes / 4 * 3 }
}
