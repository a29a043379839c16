import OmniCore
import OmniLinux

// The control socket's line protocol, both halves:
//  - what a client sends, split into lines the way ControlServer does (its framing is private,
//    so this mirrors it: a request ends at "\n" and is decoded from UTF-8 with repair; a trailing
//    partial line is not a request yet), each parsed by ControlCommand;
//  - what `omnid ctl status` receives: each line (the last one too, as a reply may end at EOF)
//    read as ApplianceStatus and printed, as ControlClient.run does.
// Properties: a parsed command parses again from its own name; a parsed status's JSON parses.
enum ControlFuzz {
    static func run(_ bytes: UnsafeBufferPointer<UInt8>) throws(FuzzFinding) {
        var start = 0
        for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
            let line = utf8Text(UnsafeBufferPointer(rebasing: bytes[start..<i]))
            try request(line)
            try reply(line)
            start = i + 1
        }
        try reply(utf8Text(UnsafeBufferPointer(rebasing: bytes[start...])))
    }

    static func request(_ line: String) throws(FuzzFinding) {
        if let command = ControlCommand(line: line), ControlCommand(line: command.rawValue) != command {
            throw FuzzFinding(.control, "\(command) does not parse from its own name")
        }
    }

    static func reply(_ line: String) throws(FuzzFinding) {
        guard let status = ApplianceStatus(json: line) else { return }
        _ = status.text
        guard ApplianceStatus(json: status.json) != nil else {
            throw FuzzFinding(.control, "a status reply re-encodes to JSON that does not parse back: \(excerpt(status.json))")
        }
    }
}
