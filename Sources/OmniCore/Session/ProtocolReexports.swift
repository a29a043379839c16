import RealtimeProtocol

/// The protocol's session config under a name that does not clash with OmniCore's own types,
/// for modules that import OmniCore without RealtimeProtocol.
public typealias RealtimeSessionConfig = RealtimeProtocol.SessionConfig
