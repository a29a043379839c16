#if canImport(Glibc)
import Glibc
#endif
import CALSA
import OmniCore

// `omnid devices`: the ALSA sound cards, their PCM devices with the rates, channel counts and
// formats the hardware accepts (probed through hw:CARD=…,DEV=…, i.e. without plug
// conversions), and the named PCMs from the ALSA configuration (default, dmix, …).

public struct AudioDeviceReport: Sendable, Equatable, CustomStringConvertible {
    public struct StreamCapabilities: Sendable, Equatable {
        /// Common rates the device accepts natively.
        public var rates: [Int] = []
        public var minRate = 0
        public var maxRate = 0
        public var minChannels = 0
        public var maxChannels = 0
        public var formats: [String] = []
        /// Why the device could not be probed (busy, permission), when it could not.
        public var error: String?
    }

    public struct PCMDevice: Sendable, Equatable {
        public var device: Int
        public var id: String
        public var name: String
        /// The name to put in omni.conf (plughw: converts format and channels, never rate).
        public var configName: String
        public var capture: StreamCapabilities?
        public var playback: StreamCapabilities?
    }

    public struct Card: Sendable, Equatable {
        public var index: Int
        public var id: String
        public var name: String
        public var longName: String
        public var pcms: [PCMDevice]
    }

    public struct NamedPCM: Sendable, Equatable {
        public var name: String
        public var description: String
        /// "Input", "Output" or nil (both).
        public var direction: String?
    }

    public var cards: [Card]
    public var named: [NamedPCM]

    public var description: String {
        var lines: [String] = []
        if cards.isEmpty {
            lines.append("No ALSA sound cards found.")
        }
        for card in cards {
            lines.append("card \(card.index): \(card.id) — \(card.longName.isEmpty ? card.name : card.longName)")
            if card.pcms.isEmpty { lines.append("  (no PCM devices)") }
            for pcm in card.pcms {
                lines.append("  device \(pcm.device): \(pcm.name)   →  \(pcm.configName)")
                for (label, caps) in [("capture ", pcm.capture), ("playback", pcm.playback)] {
                    guard let caps else { continue }
                    lines.append("    \(label): " + Self.describe(caps))
                }
            }
        }
        if !named.isEmpty {
            lines.append("")
            lines.append("Named PCMs (ALSA configuration):")
            for n in named {
                let dir = n.direction.map { " [\($0.lowercased())]" } ?? ""
                let desc = n.description.split(separator: "\n").joined(separator: " — ")
                lines.append("  \(n.name)\(dir)" + (desc.isEmpty ? "" : ": \(desc)"))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ c: StreamCapabilities) -> String {
        if let error = c.error { return "not probed (\(error))" }
        let rates = c.rates.isEmpty ? "\(c.minRate)–\(c.maxRate) Hz"
            : c.rates.map { $0 % 1000 == 0 ? "\($0 / 1000)k" : "\(Double($0) / 1000)k" }.joined(separator: " ")
                + (c.minRate != c.maxRate ? " (range \(c.minRate)–\(c.maxRate) Hz)" : "")
        let channels = c.minChannels == c.maxChannels ? "\(c.minChannels) ch" : "\(c.minChannels)–\(c.maxChannels) ch"
        return "\(rates); \(channels); \(c.formats.joined(separator: " "))"
    }
}

public enum AudioDevices {
    static let commonRates = [8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000]
    static let probedFormats: [(snd_pcm_format_t, String)] = [
        (SND_PCM_FORMAT_S16_LE, "S16_LE"), (SND_PCM_FORMAT_S24_LE, "S24_LE"), (SND_PCM_FORMAT_S24_3LE, "S24_3LE"),
        (SND_PCM_FORMAT_S32_LE, "S32_LE"), (SND_PCM_FORMAT_FLOAT_LE, "FLOAT_LE"),
    ]

    /// Scans the cards (and, with `includeNamed`, the configuration's named PCMs).
    public static func scan(includeNamed: Bool = true) -> AudioDeviceReport {
        ALSA.routeErrorsOnce()
        var cards: [AudioDeviceReport.Card] = []
        var index: Int32 = -1
        while snd_card_next(&index) == 0 && index >= 0 {
            if let card = describeCard(index) { cards.append(card) }
        }
        return AudioDeviceReport(cards: cards, named: includeNamed ? namedPCMs() : [])
    }

    static func describeCard(_ index: Int32) -> AudioDeviceReport.Card? {
        var ctl: OpaquePointer?
        guard snd_ctl_open(&ctl, "hw:\(index)", 0) >= 0, let ctl else { return nil }
        defer { snd_ctl_close(ctl) }
        var infoOpt: OpaquePointer?
        guard snd_ctl_card_info_malloc(&infoOpt) >= 0, let info = infoOpt else { return nil }
        defer { snd_ctl_card_info_free(info) }
        guard snd_ctl_card_info(ctl, info) >= 0 else { return nil }
        let id = String(cString: snd_ctl_card_info_get_id(info))
        var card = AudioDeviceReport.Card(index: Int(index), id: id,
                                          name: String(cString: snd_ctl_card_info_get_name(info)),
                                          longName: String(cString: snd_ctl_card_info_get_longname(info)), pcms: [])
        var pcmInfoOpt: OpaquePointer?
        guard snd_pcm_info_malloc(&pcmInfoOpt) >= 0, let pcmInfo = pcmInfoOpt else { return card }
        defer { snd_pcm_info_free(pcmInfo) }
        var device: Int32 = -1
        while snd_ctl_pcm_next_device(ctl, &device) == 0 && device >= 0 {
            var entry = AudioDeviceReport.PCMDevice(device: Int(device), id: "", name: "",
                                                    configName: "plughw:CARD=\(id),DEV=\(device)")
            for stream in [SND_PCM_STREAM_CAPTURE, SND_PCM_STREAM_PLAYBACK] {
                snd_pcm_info_set_device(pcmInfo, UInt32(device))
                snd_pcm_info_set_subdevice(pcmInfo, 0)
                snd_pcm_info_set_stream(pcmInfo, stream)
                guard snd_ctl_pcm_info(ctl, pcmInfo) >= 0 else { continue }
                entry.id = String(cString: snd_pcm_info_get_id(pcmInfo))
                entry.name = String(cString: snd_pcm_info_get_name(pcmInfo))
                let caps = probe("hw:CARD=\(id),DEV=\(device)", stream: stream)
                if stream == SND_PCM_STREAM_CAPTURE { entry.capture = caps } else { entry.playback = caps }
            }
            card.pcms.append(entry)
        }
        return card
    }

    /// What `name` accepts for `stream`, from its unrestricted hw params.
    static func probe(_ name: String, stream: snd_pcm_stream_t) -> AudioDeviceReport.StreamCapabilities {
        var caps = AudioDeviceReport.StreamCapabilities()
        var pcmOpt: OpaquePointer?
        let err = snd_pcm_open(&pcmOpt, name, stream, SND_PCM_NONBLOCK)
        guard err >= 0, let pcm = pcmOpt else {
            caps.error = err == -EBUSY ? "busy: in use by another program" : ALSA.errorText(err)
            return caps
        }
        defer { snd_pcm_close(pcm) }
        var hwOpt: OpaquePointer?
        guard snd_pcm_hw_params_malloc(&hwOpt) >= 0, let hw = hwOpt else {
            caps.error = "out of memory"
            return caps
        }
        defer { snd_pcm_hw_params_free(hw) }
        guard snd_pcm_hw_params_any(pcm, hw) >= 0 else {
            caps.error = "no configuration"
            return caps
        }
        var dir: Int32 = 0
        var value: UInt32 = 0
        if snd_pcm_hw_params_get_rate_min(hw, &value, &dir) >= 0 { caps.minRate = Int(value) }
        if snd_pcm_hw_params_get_rate_max(hw, &value, &dir) >= 0 { caps.maxRate = Int(value) }
        if snd_pcm_hw_params_get_channels_min(hw, &value) >= 0 { caps.minChannels = Int(value) }
        if snd_pcm_hw_params_get_channels_max(hw, &value) >= 0 { caps.maxChannels = Int(value) }
        caps.rates = commonRates.filter { snd_pcm_hw_params_test_rate(pcm, hw, UInt32($0), 0) == 0 }
        caps.formats = probedFormats.filter { snd_pcm_hw_params_test_format(pcm, hw, $0.0) == 0 }.map(\.1)
        return caps
    }

    /// The PCMs named in the ALSA configuration ("hints").
    public static func namedPCMs() -> [AudioDeviceReport.NamedPCM] {
        var hintsOpt: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        guard snd_device_name_hint(-1, "pcm", &hintsOpt) >= 0, let hints = hintsOpt else { return [] }
        defer { snd_device_name_free_hint(hints) }
        func get(_ hint: UnsafeMutableRawPointer, _ key: String) -> String? {
            guard let raw = snd_device_name_get_hint(hint, key) else { return nil }
            defer { free(raw) }
            return String(cString: raw)
        }
        var result: [AudioDeviceReport.NamedPCM] = []
        var p = hints
        while let hint = p.pointee {
            if let name = get(hint, "NAME") {
                result.append(AudioDeviceReport.NamedPCM(name: name, description: get(hint, "DESC") ?? "",
                                                         direction: get(hint, "IOID")))
            }
            p += 1
        }
        return result
    }
}
