// omni-bench-aec: echo cancellation figures on simulated rooms (see README.md here).
//
//   omni-bench-aec [--synthetic] [--only NAME[,NAME…]] [--no-ablation]
//
// Prints one table: per room, ERLE after convergence, the time to reach 20 dB, ERLE after a
// stretch of double talk, the near-end talker's level kept during double talk, the drift and
// delay the pipeline measured, and its CPU time per minute of audio.
#if canImport(Glibc)
import Glibc
#endif
import OmniCore
import OmniLinux

var synthetic = false
var startup: Int?
var startupRooms: [String] = []
var startupPrevious = [0, 1, 2]
var only: Set<String>?
var ablation = true
var webrtc: String?
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--synthetic": synthetic = true
    case "--only": only = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
    case "--no-ablation": ablation = false
    case "--webrtc": webrtc = args.popFirst()
    case "--startup": startup = Int(args.popFirst() ?? "") ?? 100
    case "--room": startupRooms.append(args.popFirst() ?? "")
    case "--ready": Startup.readyLevel = Double(args.popFirst() ?? "") ?? 0.25
    case "--ready-gap": Startup.readyGapSeconds = Double(args.popFirst() ?? "") ?? 1.0
    case "--previous": startupPrevious = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    default:
        print("usage: omni-bench-aec [--synthetic] [--only NAME,…] [--no-ablation] [--webrtc AEC_WEBRTC_BINARY]")
        print("       omni-bench-aec --startup TRIALS [--room SPEC]… [--previous N,N…]")
        exit(2)
    }
}

func room(_ text: String) -> RoomSpec {
    do { return try RoomSpec.parse(text) } catch { fatalError("\(text): \(error)") }
}

if let trials = startup {
    StartupReport.run(trials: trials, rooms: startupRooms.isEmpty ? [StartupReport.bargeInRoom] : startupRooms.map(room),
                      previous: startupPrevious)
    exit(0)
}

// Static rooms: 20 s far end only (convergence, then ERLE over 10–20 s), 10 s with a near-end
// talker over it, 8 s far end only again.
func staticRoom(_ name: String, _ spec: String) -> Scenario {
    Scenario(name: name, room: room(spec + ",noise_db=-75,seed=\(Int(name.unicodeScalars.first!.value))"), seconds: 38, doubleTalk: 20..<30,
             erleWindow: 10..<20)
}
var scenarios: [Scenario] = [
    staticRoom("A", "delay_ms=10,gain_db=0,rt60_ms=150"),
    staticRoom("B", "delay_ms=25,gain_db=-6,rt60_ms=400"),
    staticRoom("C", "delay_ms=40,gain_db=-6,rt60_ms=250"),
    staticRoom("D", "delay_ms=60,gain_db=0,rt60_ms=300"),
    staticRoom("E", "delay_ms=80,gain_db=-6,rt60_ms=400"),
    staticRoom("F", "delay_ms=100,gain_db=0,rt60_ms=200"),
    staticRoom("G", "delay_ms=120,gain_db=0,rt60_ms=400"),
    staticRoom("H", "delay_ms=120,gain_db=-6,rt60_ms=150"),
]
// Drift: 130 s of far end with two USB devices 100 ppm apart; ERLE over 100–130 s.
var drift = Scenario(name: "drift+100", room: room("delay_ms=60,gain_db=-6,rt60_ms=250,noise_db=-75,drift_ppm=100,seed=3"),
                     seconds: 130, doubleTalk: nil, erleWindow: 100..<130)
scenarios.append(drift)
var driftNeg = drift
driftNeg.name = "drift-100"
driftNeg.room.driftPPM = -100
scenarios.append(driftNeg)
if ablation {
    var c = scenarios[2]
    c.name = "C/no-delay-comp"
    c.pipeline.compensateDelay = false
    scenarios.append(c)
    var d = scenarios[3]
    d.name = "D/no-delay-comp"
    d.pipeline.compensateDelay = false
    scenarios.append(d)
    var g = scenarios[6]
    g.name = "G/no-delay-comp"
    g.pipeline.compensateDelay = false
    scenarios.append(g)
    for i in 0..<8 {
        var l = scenarios[i]
        l.name = "\(l.name)/linear-only"
        l.canceller.residualEchoSuppression = false
        scenarios.append(l)
    }
    var ns = scenarios[3]
    ns.name = "D/+noise-supp"
    ns.canceller.noiseSuppressionDB = -15
    scenarios.append(ns)
    var ng = scenarios[3]
    ng.name = "D/no-startup-gate"
    ng.pipeline.startupGate = false
    scenarios.append(ng)
    var ng2 = scenarios[6]
    ng2.name = "G/no-startup-gate"
    ng2.pipeline.startupGate = false
    scenarios.append(ng2)
    var nd = drift
    nd.name = "drift+100/no-drift-comp"
    nd.pipeline.compensateDrift = false
    scenarios.append(nd)
}
// Experiment knobs (not part of the published table).
if let v = getenv("AEC_FILTER_MS").flatMap({ Int(String(cString: $0)) }) { for i in scenarios.indices { scenarios[i].canceller.filterMs = v } }
if let v = getenv("AEC_FRAME_MS").flatMap({ Int(String(cString: $0)) }) { for i in scenarios.indices { scenarios[i].canceller.frameMs = v } }
// The comparison: webrtc-audio-processing's AEC2 on the static rooms, given the room's delay.
var external: [String: String] = [:]
if let webrtc {
    for i in 0..<8 {
        for (suffix, mode) in [("webrtc", "moderate"), ("webrtc-high", "high")] {
            var w = scenarios[i]
            w.name = "\(w.name)/\(suffix)"
            external[w.name] = "sh -c '\"$0\" \"$1\" \"$2\" \"$3\" \"$4\" \(mode)' \(webrtc)"
            scenarios.append(w)
        }
    }
}
if let v = getenv("AEC_SUPPRESS_ACTIVE_DB").flatMap({ Int(String(cString: $0)) }) { for i in scenarios.indices { scenarios[i].canceller.echoSuppressActiveDB = v } }
if let v = getenv("AEC_SUPPRESS_DB").flatMap({ Int(String(cString: $0)) }) { for i in scenarios.indices { scenarios[i].canceller.echoSuppressDB = v } }
if let only { scenarios = scenarios.filter { only.contains($0.name) } }

var template = Array("/tmp/omni-bench-aec-XXXXXX".utf8CString)
guard let scratch = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
    print("cannot create a scratch directory")
    exit(1)
}
let useEspeak = !synthetic && Signals.espeakAvailable
let longest = scenarios.map(\.seconds).max() ?? 0
let far = Signals.farEnd(seconds: longest, levelDBFS: -20, synthetic: !useEspeak, scratch: scratch)
let near = Signals.nearEnd(seconds: 10, levelDBFS: -26, synthetic: !useEspeak, scratch: scratch)

// As run.sh was called: the webrtc tool's path is run.sh's business.
var shownArguments: [String] = []
var skipNext = false
for a in CommandLine.arguments.dropFirst() {
    if skipNext { skipNext = false; continue }
    shownArguments.append(a)
    if a == "--webrtc" { skipNext = true }
}
var cpuModel = "?"
if let f = fopen("/proc/cpuinfo", "r") {
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, 512, f) != nil {
        let l = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if l.hasPrefix("model name") { cpuModel = String(l.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(); break }
    }
    fclose(f)
}
print("Echo cancellation benchmark — speexdsp MDF + residual echo suppression, EchoPipeline (delay + drift compensation)")
print("16 kHz, 20 ms frames, 250 ms filter; signals: \(useEspeak ? "espeak-ng speech (far end en-us at -20 dBFS, near end en-us+f3 at -26 dBFS)" : "seeded speech-shaped noise")")
print("\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) × \(cpuModel); command: bench/aec/run.sh \(shownArguments.joined(separator: " "))")
print("static rooms: 20 s far end, 10 s double talk, 8 s far end; ERLE over 10-20 s; noise floor -75 dBFS, DRR 3 dB")
print("")
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
func f1(_ d: Double?) -> String {
    guard let d, d.isFinite else { return "-" }
    let r = (d * 10).rounded() / 10
    return r == r.rounded() ? "\(Int(r)).0" : "\(r)"
}
print(pad("room", 24) + pad("delay/gain/RT60/drift", 26) + lpad("ERLE dB", 8) + lpad("conv s", 8) + lpad("after DT", 9)
      + lpad("near DT", 9) + lpad("est delay", 10) + lpad("est ppm", 9) + lpad("jumps", 6) + lpad("CPU s/min", 10) + lpad("max ms", 8))
var staticERLE: [Double] = [], linearERLE: [Double] = [], webrtcERLE: [Double] = []
for s in scenarios {
    let figures: Figures
    do {
        if let command = external[s.name] {
            figures = try Bench.runExternal(s, command: command, far: far, near: near, scratch: scratch)
        } else {
            figures = try Bench.run(s, far: far, near: near)
        }
    } catch {
        print("\(s.name): \(error)")
        exit(1)
    }
    if s.room.driftPPM == 0, !s.name.contains("/") { staticERLE.append(figures.erle) }
    if s.name.hasSuffix("/webrtc") { webrtcERLE.append(figures.erle) }
    if s.room.driftPPM == 0, s.name.hasSuffix("/linear-only") { linearERLE.append(figures.erle) }
    let r = s.room
    let desc = "\(Int(r.delayMs)) ms \(Int(r.gainDB)) dB \(Int(r.rt60Ms)) ms \(Int(r.driftPPM)) ppm"
    print(pad(s.name, 24) + pad(desc, 26) + lpad(f1(figures.erle), 8) + lpad(f1(figures.convergence), 8)
          + lpad(f1(figures.erleAfterDoubleTalk), 9) + lpad(f1(figures.nearEndKept), 9) + lpad(f1(figures.status?.delayMs), 10)
          + lpad(f1(figures.status?.driftPPM), 9) + lpad(figures.status.map { "\($0.jumps)" } ?? "-", 6) + lpad(String(format2(figures.cpuPerMinute)), 10)
          + lpad(figures.worstFrameMs.map { format2($0) } ?? "-", 8))
    fflush(nil)
}
func format2(_ d: Double) -> String { let r = (d * 100).rounded() / 100; return "\(r)" }
if !staticERLE.isEmpty {
    let mean = staticERLE.reduce(0, +) / Double(staticERLE.count)
    print("")
    print("static rooms: ERLE mean \(f1(mean)) dB, min \(f1(staticERLE.min())) dB")
}
if !webrtcERLE.isEmpty {
    print("static rooms, webrtc AEC2 (moderate, given the delay): ERLE mean \(f1(webrtcERLE.reduce(0, +) / Double(webrtcERLE.count))) dB, min \(f1(webrtcERLE.min())) dB")
}
if !linearERLE.isEmpty {
    print("static rooms, linear filter alone: ERLE mean \(f1(linearERLE.reduce(0, +) / Double(linearERLE.count))) dB, min \(f1(linearERLE.min())) dB")
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

_ = system("rm -rf '\(scratch)'")
