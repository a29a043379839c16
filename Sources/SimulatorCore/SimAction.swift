import RealtimeProtocol

/// What the executable must do for a session, in order.
public enum SimAction: Sendable, Equatable {
    /// Send this event as a text frame.
    case send(ServerEvent)
    /// Send this text frame verbatim (fault injection: malformed or oversize frames).
    case sendRaw(String)
    /// Close the WebSocket with a close frame.
    case close(code: Int, reason: String)
    /// Abort the TCP connection (RST, no close frame).
    case reset
    /// The session will send nothing more; keep the socket open (informational, for the log).
    case stall
    /// A fault fired (informational, for the log).
    case faultFired(FaultKind)
    /// An image was accepted (informational, for the log): its size, dimensions, colour.
    case imageReceived(SimImage)
}
