import OmniLinux

enum DevicesCommand {
    static let info = CommandInfo(
        name: "devices",
        abstract: "List ALSA cards and PCMs with the rates and channel counts they accept, and V4L2 cameras with their formats and sizes."
    ) { _ in
        print(AudioDevices.scan())
        print(CameraDevices.scan())
    }
}
