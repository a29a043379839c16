// Reading, checking and printing the [camera] section. It may be in a board file (a board with
// a camera and its privacy LED) and in omni.conf; omni.conf wins, as for every section.

extension ConfigLoader {
    static let cameraKeys = ["device", "fps", "max_width", "max_height", "jpeg_quality", "when", "privacy_led",
                             "privacy_led_chip", "privacy_led_active_low"]

    static func applyCamera(_ doc: ConfigDocument, to c: inout OmniConfig.Camera) throws(ConfigError) {
        let r = SectionReader(doc: doc, section: "camera")
        if let v = try r.string("device") {
            guard let d = CameraDeviceSetting(parsing: v) else {
                throw r.error("device", "\"\(v)\" is not allowed; allowed: \"none\", \"auto\", a device path such as "
                              + "\"/dev/video0\", or \"file:DIR\" (JPEG files of a directory)")
            }
            c.device = d
        }
        if let v = try r.double("fps", CameraLimits.fps) { c.fps = v }
        if let v = try r.int("max_width", CameraLimits.width) { c.maxWidth = v }
        if let v = try r.int("max_height", CameraLimits.height) { c.maxHeight = v }
        if let v = try r.int("jpeg_quality", CameraLimits.jpegQuality) { c.jpegQuality = v }
        if let v = try r.choice("when", CameraTrigger.self) { c.when = v }
        // The LED's three keys go together: a file that sets only the chip changes nothing else.
        let led = r.entry("privacy_led")
        let chip = try r.string("privacy_led_chip")
        let activeLow = try r.bool("privacy_led_active_low")
        guard let led else {
            if chip != nil || activeLow != nil, case .gpio(let ref, let low) = c.privacyLED {
                var ref = ref
                ref.chip = chip ?? ref.chip
                c.privacyLED = .gpio(ref, activeLow: activeLow ?? low)
            }
            return
        }
        let at = ConfigLocation(file: led.file, line: led.line, key: "camera.privacy_led")
        switch led.value {
        case .string("none"): c.privacyLED = .none
        case .string("virtual"): c.privacyLED = .virtual
        case .string(let name) where !name.isEmpty:
            c.privacyLED = .gpio(GPIOLineRef(chip: chip, name: name, offset: nil, location: at), activeLow: activeLow ?? false)
        case .int(let offset) where offset >= 0:
            guard chip != nil else {
                throw at.error("a line offset (\(offset)) needs privacy_led_chip (e.g. \"gpiochip0\"), or use the line's name")
            }
            c.privacyLED = .gpio(GPIOLineRef(chip: chip, name: nil, offset: offset, location: at), activeLow: activeLow ?? false)
        default:
            throw at.error("must be \"none\", \"virtual\" (log only), a GPIO line name such as \"GPIO5\", "
                           + "or an offset with privacy_led_chip; got \(led.value)")
        }
    }

    /// `when = "look"` needs a gesture that means look; without one no turn would ever carry a
    /// frame, which is a mistake rather than a choice.
    static func checkCamera(_ c: OmniConfig, docs: [ConfigDocument]) throws(ConfigError) {
        guard c.camera.enabled, c.camera.when == .look else { return }
        let button = c.board.sections["button"] ?? [:]
        let gestures = ["double_press", "long_press"].filter { button[$0]?.value == .string(ApplianceGestureAction.look.rawValue) }
        guard gestures.isEmpty else { return }
        let entry = docs.lazy.compactMap { $0.sections["camera"]?["when"] }.first
        throw ConfigError(file: entry?.file ?? docs[0].file, line: entry?.line, key: "camera.when",
                          message: "\"look\" needs a look gesture on the board: set [button] double_press = \"look\" "
                            + "(or long_press = \"look\") in the board file, or use when = \"turn\"")
    }

    static func cameraTOML(_ c: OmniConfig.Camera, quote q: (String) -> String) -> [String] {
        var lines = ["[camera]", "device = \(q(c.device.description))"]
        guard c.enabled else { return lines }
        lines += ["fps = \(c.fps)", "max_width = \(c.maxWidth)", "max_height = \(c.maxHeight)",
                  "jpeg_quality = \(c.jpegQuality)", "when = \(q(c.when.rawValue))"]
        switch c.privacyLED {
        case .none: lines.append("privacy_led = \"none\"")
        case .virtual: lines.append("privacy_led = \"virtual\"")
        case .gpio(let ref, let activeLow):
            lines.append(ref.name.map { "privacy_led = \(q($0))" } ?? "privacy_led = \(ref.offset ?? 0)")
            if let chip = ref.chip { lines.append("privacy_led_chip = \(q(chip))") }
            lines.append("privacy_led_active_low = \(activeLow)")
        }
        return lines
    }
}
