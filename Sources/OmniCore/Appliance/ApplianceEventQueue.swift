// The order in which the controller feeds the machine: one event at a time, and all of an
// event's actions carried out before the next event is handled.
//
// Carrying out an action can itself produce an event: the session manager reports a state
// change from inside `reconnectNow()`, the playback counter shows the first sample while the
// first delta is being queued. Handled on the spot, such an event would move the machine on
// while the rest of the old event's actions still ran, against a state they were not computed
// from. Queued here, it waits until they are done.
//
// The controller's loop is:
//
//     func feed(_ event: ApplianceEvent) {
//         guard queue.enqueue(event) else { return }  // a drain under way will get to it
//         while let next = queue.next() { handle next, then carry out all of its actions }
//     }

public struct ApplianceEventQueue: Sendable {
    private var waiting: [ApplianceEvent] = []
    /// Whether a drain is under way (between an `enqueue` that returned true and the `next`
    /// that returned nil).
    public private(set) var isDraining = false

    public init() {}

    /// Queues `event`. Returns true when the caller must drain the queue now, false when a drain
    /// is already under way (further up the caller's stack) and will handle the event in turn.
    public mutating func enqueue(_ event: ApplianceEvent) -> Bool {
        waiting.append(event)
        guard !isDraining else { return false }
        isDraining = true
        return true
    }

    /// The next event to handle, oldest first; nil when none is left, which ends the drain.
    public mutating func next() -> ApplianceEvent? {
        guard !waiting.isEmpty else {
            isDraining = false
            return nil
        }
        // The queue holds the one event being handled plus the few it produced: removing from
        // the front of so short an array costs nothing worth a ring buffer.
        return waiting.removeFirst()
    }

    /// Events waiting to be handled.
    public var count: Int { waiting.count }
}
