import ArgumentParser
import OmniLinux

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List ALSA cards and PCMs with the rates and channel counts they accept, and V4L2 cameras with their formats and sizes.")

    func run() throws {
        print(AudioDevices.scan())
        print(CameraDevices.scan())
    }
}
