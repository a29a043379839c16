// The last `capacity` samples of an unbounded stream, addressed by their absolute index in the
// stream. Every sample is stored twice (at i and i + capacity), so any stretch of up to
// `capacity` stored samples is contiguous in memory: the interpolator and the correlator read
// it through one pointer, without wrap-around arithmetic in their inner loops. One allocation,
// at init; appending never allocates.

public final class SampleHistory {
    public let capacity: Int
    private let storage: UnsafeMutablePointer<Float>
    /// Samples appended since the start (or the last `reset`); the next sample's index.
    public private(set) var written: Int = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(capacity: 2 * capacity)
        storage.initialize(repeating: 0, count: 2 * capacity)
    }

    deinit { storage.deallocate() }

    /// Index of the oldest sample still held.
    public var oldest: Int { max(0, written - capacity) }

    public func append(_ value: Float) {
        let slot = written % capacity
        storage[slot] = value
        storage[slot + capacity] = value
        written += 1
    }

    public func append(_ samples: UnsafeBufferPointer<Int16>, scale: Float = 1) {
        for s in samples { append(Float(s) * scale) }
    }

    /// Sample `index`, or 0 when it is not held (not yet written, or already forgotten).
    public func sample(at index: Int) -> Float {
        guard index >= oldest, index < written else { return 0 }
        return storage[index % capacity]
    }

    /// Pointer to sample `start`; the next `count` samples follow contiguously. Nil unless all
    /// of `start ..< start + count` is held.
    public func contiguous(from start: Int, count: Int) -> UnsafePointer<Float>? {
        guard count <= capacity, start >= oldest, start + count <= written else { return nil }
        return UnsafePointer(storage + start % capacity)
    }

    /// Copies `start ..< start + count` into `destination`, zeros where a sample is not held.
    public func copy(from start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let lo = max(start, oldest), hi = min(start + count, written)
        if lo >= hi {
            destination.update(repeating: 0, count: count)
            return
        }
        if lo > start { destination.update(repeating: 0, count: lo - start) }
        destination.advanced(by: lo - start).update(from: storage + lo % capacity, count: hi - lo)
        if hi < start + count { destination.advanced(by: hi - start).update(repeating: 0, count: start + count - hi) }
    }

    public func reset() {
        storage.update(repeating: 0, count: 2 * capacity)
        written = 0
    }
}
