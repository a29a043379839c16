import OmniCore
import Synchronization

// Receive flow control (LWSClientTransport's `receiveWindow`): what the service thread has
// delivered and the receiver not yet handled, in messages and bytes. Past the window the service
// thread stops reading the socket, so TCP pushes back on the server; it reads again once the
// receiver is down to half of both. Shared between the two threads through atomics only.

final class LWSReceiveFlow: Sendable {
    let window: LWSClientTransport.ReceiveWindow
    private let messages = Atomic<Int>(0)
    private let bytes = Atomic<Int>(0)
    /// The service thread has stopped reading the current link (published before it pauses).
    let paused = Atomic<Bool>(false)

    init(window: LWSClientTransport.ReceiveWindow) {
        self.window = LWSClientTransport.ReceiveWindow(messages: max(2, window.messages), bytes: max(2, window.bytes))
    }

    /// The size a received event counts for; nil for events that are not received messages.
    static func size(of event: TransportEvent) -> Int? {
        switch event {
        case .text(let text): text.utf8.count
        case .binary(let count): count
        default: nil
        }
    }

    /// Counts a message about to be delivered (before, so the receiver's report never comes
    /// first); true when the window is full and reading must stop.
    func delivering(bytes n: Int) -> Bool {
        let m = messages.add(1, ordering: .relaxed).newValue
        let b = bytes.add(n, ordering: .relaxed).newValue
        return m >= window.messages || b >= window.bytes
    }

    /// The receiver handled one message of `n` bytes; true when the service thread must wake up
    /// to resume reading.
    func handled(bytes n: Int) -> Bool {
        messages.subtract(1, ordering: .relaxed)
        bytes.subtract(n, ordering: .relaxed)
        return caughtUp && paused.load(ordering: .acquiring)
    }

    /// Down to half the window in both measures.
    var caughtUp: Bool {
        messages.load(ordering: .relaxed) <= window.messages / 2 && bytes.load(ordering: .relaxed) <= window.bytes / 2
    }
}
