import OmniCore

// The two things outside the daemon that need cameras: `omnid devices` (what is there, in which
// formats and sizes) and the source a `[camera] device` setting stands for.

public enum CameraDevices {
    /// The source for a config setting; nil for `none`. The V4L2 device is opened on first use,
    /// on the thread that uses it.
    public static func source(_ setting: CameraDeviceSetting, limit: FrameSize, clock: any MonotonicClock,
                              syscalls: V4L2Syscalls = .kernel) -> (any CameraSource)? {
        switch setting {
        case .none: return nil
        case .auto: return V4L2CameraSource(selection: .auto, limit: limit, syscalls: syscalls, clock: clock)
        case .v4l2(let path): return V4L2CameraSource(selection: .path(path), limit: limit, syscalls: syscalls, clock: clock)
        case .files(let dir): return FileCameraSource(directory: dir, clock: clock)
        }
    }

    /// Every /dev/video* node: what it is, and for capture devices each format with its sizes.
    /// A node that cannot be opened says why (permissions, busy).
    public static func scan(syscalls: V4L2Syscalls = .kernel) -> String {
        let nodes = syscalls.deviceNodes()
        var out = ["Cameras (V4L2):"]
        if nodes.isEmpty { out.append("  none (no /dev/video* device)") }
        for node in nodes {
            let d: V4L2Device
            do {
                d = try V4L2Device(path: node, syscalls: syscalls)
            } catch {
                out.append("  \(node): \(error)")
                continue
            }
            defer { d.close() }
            do {
                let cap = try d.capability()
                out.append("  \(node): \(cap.card) (\(cap.driver), \(cap.busInfo))")
                guard cap.canCapture else {
                    out.append(cap.multiplanarOnly ? "    multi-planar capture only (not supported by omnid)"
                                                   : "    not a video capture node (metadata or output)")
                    continue
                }
                if !cap.canStream { out.append("    no streaming I/O (not supported by omnid)") }
                // The formats omnid reads, with their sizes; the others in one line (vivid lists 83).
                let formats = try d.formats()
                for f in formats where f.fourcc.pixelFormat != nil {
                    out.append("    \(f.fourcc) (\(f.description)): \(describe(f.sizes))")
                }
                let others = formats.filter { $0.fourcc.pixelFormat == nil }.map(\.fourcc.description)
                if !others.isEmpty { out.append("    not used by omnid: " + others.joined(separator: ", ")) }
            } catch {
                out.append("    \(error)")
            }
        }
        return out.joined(separator: "\n")
    }

    static func describe(_ sizes: V4L2FrameSizes) -> String {
        switch sizes {
        case .discrete(let s) where s.isEmpty: return "no sizes listed"
        case .discrete(let s): return s.map(\.description).joined(separator: ", ")
        case .stepwise(let lo, let hi, let sw, let sh):
            return sw == 1 && sh == 1 ? "any size from \(lo) to \(hi)" : "\(lo) to \(hi) in steps of \(sw)x\(sh)"
        }
    }
}
