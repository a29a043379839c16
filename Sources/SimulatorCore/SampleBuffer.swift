// The input audio buffer with absolute positions: sample i of the session's input stream is
// `samples[i - base]` while it is still held. VAD mode keeps only what a future turn can still
// need (the prefix padding), so streaming silence for hours stays cheap.
struct SampleBuffer {
    private(set) var base = 0
    private(set) var samples: [Int16] = []

    var end: Int { base + samples.count }
    var isEmpty: Bool { samples.isEmpty }

    mutating func append(_ s: [Int16]) { samples.append(contentsOf: s) }

    /// Samples in [from, to), clamped to what is held.
    func slice(_ from: Int, _ to: Int) -> [Int16] {
        let lo = min(max(from, base), end), hi = min(max(to, lo), end)
        return Array(samples[(lo - base)..<(hi - base)])
    }

    mutating func drop(before position: Int) {
        let k = min(max(0, position - base), samples.count)
        guard k > 0 else { return }
        samples.removeFirst(k)
        base += k
    }

    mutating func clear() { drop(before: end) }
}
