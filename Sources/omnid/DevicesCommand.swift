import ArgumentParser
import OmniLinux

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List ALSA cards and PCMs with the rates and channel counts they accept.")

    func run() throws {
        print(AudioDevices.scan())
    }
}
