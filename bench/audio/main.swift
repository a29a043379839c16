// omni-bench-audio: CPU time per minute of full-duplex audio (see README.md here).
//
//   omni-bench-audio [--seconds 60] [--speed 1] [--config /etc/omni.conf-style audio devices]
//
// Without --devices it uses alsa-lib's file plugin over `null` (48 kHz stereo both ways), the
// production ALSA code path without hardware. With --devices CAPTURE,PLAYBACK it measures real
// cards (speed is then forced to 1: real devices keep their own time).
#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniLinux

var seconds = 60.0
var speed = 1.0
var devices: (String, String)?
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--seconds": seconds = Double(args.popFirst() ?? "") ?? seconds
    case "--speed": speed = Double(args.popFirst() ?? "") ?? speed
    case "--devices":
        let parts = (args.popFirst() ?? "").split(separator: ",").map(String.init)
        if parts.count == 2 { devices = (parts[0], parts[1]) }
    default:
        print("usage: omni-bench-audio [--seconds N] [--speed X] [--devices CAPTURE,PLAYBACK]")
        exit(2)
    }
}

var options = AudioEngine.Options()
var config = OmniConfig().audio
var scratch: String?
if let (capture, playback) = devices {
    config.capture = capture
    config.playback = playback
    config.earcons = true
} else {
    var template = Array("/tmp/omni-bench-audio-XXXXXX".utf8CString)
    guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
        print("cannot create a scratch directory")
        exit(1)
    }
    scratch = dir
    options.alsaConfigFile = try AudioBenchmark.nullDevices(in: dir)
    options.pacing = .clock(speed: speed)
    config = AudioBenchmark.nullDeviceConfig(base: config)
}
do {
    let result = try AudioBenchmark.run(config: config, options: options, seconds: seconds)
    print(result)
} catch {
    print("benchmark failed: \(error)")
    exit(1)
}
if let scratch {
    for f in ["speech.raw", "asound.conf"] { unlink("\(scratch)/\(f)") }
    rmdir(scratch)
}
