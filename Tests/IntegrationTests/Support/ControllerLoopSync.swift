import Dispatch
import OmniLinux

/// What `ControllerLoop.sync` hands across: written on the loop, read after the semaphore.
private final class LoopSyncBox<T>: @unchecked Sendable {
    var body: (() -> T)?
    var result: T?
}

extension ControllerLoop {
    /// Runs `body` on the loop and waits for it, like DispatchQueue.sync (tests only: nothing in
    /// omnid waits for the loop).
    func sync<T>(_ body: () -> T) -> T {
        if isCurrent { return body() }
        return withoutActuallyEscaping(body) { body in
            let box = LoopSyncBox<T>()
            box.body = body
            let done = DispatchSemaphore(value: 0)
            post {
                box.result = box.body?()
                box.body = nil  // it must not outlive withoutActuallyEscaping
                done.signal()
            }
            done.wait()
            return box.result!
        }
    }
}
