import RealtimeProtocol

/// What the executable must do for a session, in order.
public enum SimAction: Sendable, Equatable {
    /// Send this event as a text frame.
    case send(ServerEvent)
    /// Send this text frame verbatim (fault injection: malformed or oversize frames).
    case sendRaw(String)
    /// Send this message with exact framing (hostile faults: invalid UTF-8, binary, fragmented, slow).
    case sendMessage(RawMessage)
    /// Close the WebSocket with a close frame.
    case close(code: Int, reason: String)
    /// Abort the TCP connection (RST, no close frame) once what was sent before is written.
    case reset
    /// The session will send nothing more; keep the socket open (informational, for the log).
    case stall
    /// A fault fired (informational, for the log).
    case faultFired(FaultKind)
    /// An image was accepted (informational, for the log): its size, dimensions, colour.
    case imageReceived(SimImage)
}

/// A message as bytes on the wire, for faults a String cannot express.
public struct RawMessage: Sendable, Equatable {
    public var payload: [UInt8]
    public var binary: Bool
    /// Payload bytes per WebSocket frame; nil = one frame.
    public var fragmentBytes: Int?
    /// Pause between the frames, ms.
    public var gapMs: Int

    public init(payload: [UInt8], binary: Bool = false, fragmentBytes: Int? = nil, gapMs: Int = 0) {
        self.payload = payload
        self.binary = binary
        self.fragmentBytes = fragmentBytes
        self.gapMs = gapMs
    }
}
