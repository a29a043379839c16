// Time helpers: every timing knob and log timestamp is in milliseconds.
extension Duration {
    /// Milliseconds as a Double (the unit of every timing knob and of the log).
    var ms: Double {
        let c = components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }

    static func ms(_ v: Double) -> Duration { .nanoseconds(Int64((v * 1e6).rounded())) }
}
