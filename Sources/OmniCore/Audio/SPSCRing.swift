// A single-producer single-consumer ring of Int16 samples over preallocated memory, the only
// channel between the audio thread and the rest of the daemon.
//
// RULES (read these before touching a ring):
//  1. One producer and one consumer at any moment. On the audio thread's side the audio thread
//     is the only party; on the other side whoever holds the owning mutex (AudioEngine keeps
//     one per ring) is the party. Nobody else calls a method of the other side.
//  2. Positions are free-running Int counters of samples ever written / ever read; the slot is
//     `position & mask`. They never wrap in practice (2^63 samples is six million years at
//     48 kHz). `write - read` is the fill level, always within 0...capacity.
//  3. Each index is stored by exactly one side: `write` by the producer, `read` by the consumer
//     (also `skip(to:)` and `discardAll()`, which are consumer operations).
//  4. Ordering: the producer copies samples into the slots, then publishes them with a
//     releasing store of `write`; the consumer observes `write` with an acquiring load before
//     reading the slots. Symmetrically the consumer releases slots with a releasing store of
//     `read`, and the producer acquires `read` before overwriting them. A side reads its own
//     index relaxed.
//  5. Capacity is a power of two, fixed at creation; the storage is zero-filled when created
//     so every page is touched (and, after mlockall, resident) before the audio thread runs.
//  6. Nothing here allocates, locks, blocks or logs. Writes and reads move as much as fits
//     and return the count; a full ring refuses the excess (the caller counts it), it never
//     overwrites unread samples.
//  7. The two indices live on separate cache lines so the producer's and consumer's stores do
//     not false-share.
//
// `SPSCRingView` is a plain struct of pointers so the audio loop can hold it without ARC
// traffic; `SPSCRing` is the owning object that allocates and frees the memory. Keep the owner
// alive for as long as any view is in use.

import Synchronization

/// The audio-thread-safe face of a ring: pointers only, no reference counting.
public struct SPSCRingView: @unchecked Sendable {
    // @unchecked: raw pointers; the access discipline is the RULES above.
    public let storage: UnsafeMutablePointer<Int16>
    @usableFromInline let writeIndex: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let readIndex: UnsafeMutablePointer<Atomic<Int>>
    public let capacity: Int
    @usableFromInline let mask: Int

    init(storage: UnsafeMutablePointer<Int16>, writeIndex: UnsafeMutablePointer<Atomic<Int>>,
         readIndex: UnsafeMutablePointer<Atomic<Int>>, capacity: Int) {
        self.storage = storage
        self.writeIndex = writeIndex
        self.readIndex = readIndex
        self.capacity = capacity
        self.mask = capacity - 1
    }

    // MARK: producer side

    /// Total samples ever written (producer's own index).
    @inlinable public var writePosition: Int { writeIndex.pointee.load(ordering: .relaxed) }

    /// Free slots as the producer sees them.
    @inlinable public func availableToWrite() -> Int {
        let r = readIndex.pointee.load(ordering: .acquiring)
        return capacity - (writeIndex.pointee.load(ordering: .relaxed) - r)
    }

    /// Copies up to `count` samples in; returns how many fitted.
    @inlinable @discardableResult
    public func write(_ source: UnsafePointer<Int16>, count: Int) -> Int {
        let w = writeIndex.pointee.load(ordering: .relaxed)
        let r = readIndex.pointee.load(ordering: .acquiring)
        let n = min(count, capacity - (w - r))
        guard n > 0 else { return 0 }
        let start = w & mask
        let first = min(n, capacity - start)
        SPSCRingView.copy(source, to: storage + start, count: first)
        if first < n { SPSCRingView.copy(source + first, to: storage, count: n - first) }
        writeIndex.pointee.store(w + n, ordering: .releasing)
        return n
    }

    /// Writes `count` zero samples (or as many as fit).
    @inlinable @discardableResult
    public func writeSilence(count: Int) -> Int {
        let w = writeIndex.pointee.load(ordering: .relaxed)
        let r = readIndex.pointee.load(ordering: .acquiring)
        let n = min(count, capacity - (w - r))
        guard n > 0 else { return 0 }
        let start = w & mask
        let first = min(n, capacity - start)
        for i in 0..<first { storage[start + i] = 0 }
        for i in 0..<(n - first) { storage[i] = 0 }
        writeIndex.pointee.store(w + n, ordering: .releasing)
        return n
    }

    /// Element-wise copy. Deliberately not `update(from:count:)`/memcpy: Swift lowers those to a
    /// memmove builtin that ThreadSanitizer does not see, and the two-thread stress test must
    /// be able to catch a missing release/acquire on the slots. The optimiser vectorises this.
    @inlinable @inline(__always)
    static func copy(_ source: UnsafePointer<Int16>, to destination: UnsafeMutablePointer<Int16>, count: Int) {
        for i in 0..<count { destination[i] = source[i] }
    }

    // MARK: consumer side

    /// Total samples ever consumed (consumer's own index).
    @inlinable public var readPosition: Int { readIndex.pointee.load(ordering: .relaxed) }

    /// Samples ready for the consumer.
    @inlinable public func availableToRead() -> Int {
        writeIndex.pointee.load(ordering: .acquiring) - readIndex.pointee.load(ordering: .relaxed)
    }

    /// Copies up to `count` samples out; returns how many were there.
    @inlinable @discardableResult
    public func read(into destination: UnsafeMutablePointer<Int16>, count: Int) -> Int {
        let r = readIndex.pointee.load(ordering: .relaxed)
        let w = writeIndex.pointee.load(ordering: .acquiring)
        let n = min(count, w - r)
        guard n > 0 else { return 0 }
        let start = r & mask
        let first = min(n, capacity - start)
        SPSCRingView.copy(storage + start, to: destination, count: first)
        if first < n { SPSCRingView.copy(storage, to: destination + first, count: n - first) }
        readIndex.pointee.store(r + n, ordering: .releasing)
        return n
    }

    /// Drops unread samples up to absolute position `position` (never past what was written);
    /// returns how many were dropped. Used for flush: the producer names the position, the
    /// consumer applies it.
    @inlinable @discardableResult
    public func skip(to position: Int) -> Int {
        let r = readIndex.pointee.load(ordering: .relaxed)
        let w = writeIndex.pointee.load(ordering: .acquiring)
        let target = min(position, w)
        guard target > r else { return 0 }
        readIndex.pointee.store(target, ordering: .releasing)
        return target - r
    }

    /// Drops everything currently readable; returns how many samples.
    @inlinable @discardableResult
    public func discardAll() -> Int { skip(to: .max) }
}

/// Owns the memory of one ring. Create it off the audio thread; hand `view` to the audio thread.
public final class SPSCRing: @unchecked Sendable {
    // @unchecked: the memory is only reached through `view`, whose use is governed by the RULES;
    // `view` changes only in `resize`, whose caller serialises it with every reader.
    public private(set) var view: SPSCRingView
    private let indexBlock: UnsafeMutableRawPointer

    /// Cache line distance between the two indices (128 covers adjacent-line prefetch).
    private static let lineBytes = 128

    /// A ring holding at least `minimumCapacity` samples (rounded up to a power of two, ≥ 2).
    public init(minimumCapacity: Int) {
        let capacity = SPSCRing.powerOfTwo(atLeast: max(2, minimumCapacity))
        let storage = UnsafeMutablePointer<Int16>.allocate(capacity: capacity)
        storage.initialize(repeating: 0, count: capacity)
        indexBlock = UnsafeMutableRawPointer.allocate(byteCount: 2 * Self.lineBytes, alignment: Self.lineBytes)
        let w = indexBlock.bindMemory(to: Atomic<Int>.self, capacity: 1)
        w.initialize(to: Atomic(0))
        let r = (indexBlock + Self.lineBytes).bindMemory(to: Atomic<Int>.self, capacity: 1)
        r.initialize(to: Atomic(0))
        view = SPSCRingView(storage: storage, writeIndex: w, readIndex: r, capacity: capacity)
    }

    deinit {
        view.writeIndex.deinitialize(count: 1)
        view.readIndex.deinitialize(count: 1)
        indexBlock.deallocate()
        view.storage.deinitialize(count: view.capacity)
        view.storage.deallocate()
    }

    public var capacity: Int { view.capacity }

    /// New zero-filled storage of at least `minimumCapacity` samples (a power of two), when that
    /// is another capacity; what was unread is dropped either way. The positions carry on (a
    /// consumer's absolute positions stay meaningful). Only while no producer runs, and under
    /// whatever serialises the consumer side and every reader of `view` (an engine's side
    /// mutex): a view taken before is dangling after. The old storage must not be locked
    /// (unlock it first: munlock of freed memory could unlock someone else's pages).
    public func resize(minimumCapacity: Int) {
        view.discardAll()
        let capacity = SPSCRing.powerOfTwo(atLeast: max(2, minimumCapacity))
        guard capacity != view.capacity else { return }
        let old = view.storage
        let oldCapacity = view.capacity
        let storage = UnsafeMutablePointer<Int16>.allocate(capacity: capacity)
        storage.initialize(repeating: 0, count: capacity)
        view = SPSCRingView(storage: storage, writeIndex: view.writeIndex, readIndex: view.readIndex, capacity: capacity)
        old.deinitialize(count: oldCapacity)
        old.deallocate()
    }

    /// The memory the ring's two sides touch (samples, then indices): what to lock so that
    /// neither side ever waits for a page-in.
    public var memoryRegions: [(address: UnsafeRawPointer, bytes: Int)] {
        [(UnsafeRawPointer(view.storage), view.capacity * MemoryLayout<Int16>.stride),
         (UnsafeRawPointer(indexBlock), 2 * Self.lineBytes)]
    }

    public static func powerOfTwo(atLeast n: Int) -> Int {
        var c = 1
        while c < n { c <<= 1 }
        return c
    }
}
