import OmniLinux

enum DevicesCommand {
    static let info = CommandInfo(
        name: "devices", abstract: "List ALSA cards and PCMs with the rates and channel counts they accept."
    ) { _ in print(AudioDevices.scan()) }
}
