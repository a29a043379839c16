import OmniCore
import OmniLinux

/// What the parts report to the daemon.
enum DaemonInput: Sendable {
    /// The GPIO or keyboard button, or the control socket's software button.
    case button(ButtonEvent)
    /// An appliance timer fired (ApplianceTimerDriver).
    case timer(ApplianceTimer)
    case session(SessionEvent)
    case audio(AudioEvent)
    /// An encoded frame from the camera thread.
    case camera(CameraFrame)
}

/// The daemon as the inbox sees it. Both calls come on the controller loop.
protocol DaemonInputReceiver: AnyObject, Sendable {
    func receive(_ input: DaemonInput)
    /// For `omnid ctl status`.
    func status() -> ApplianceStatus
}

/// The one way the parts reach the daemon. They are built before the daemon exists (see
/// DaemonParts), so their callbacks report here and the daemon attaches itself once it is built.
/// Everything is handed over on the controller loop; inputs that arrive before the daemon is
/// attached (a button pressed during startup) are kept and handed over first, in order.
final class DaemonInbox: @unchecked Sendable {
    // @unchecked: `receiver` and `early` are touched on the loop only.
    let loop: ControllerLoop
    /// Strong on purpose: once `omnid run` has started the daemon it holds no reference to it;
    /// the inbox, held by every part's callback, is what keeps the daemon for the life of the
    /// process.
    private var receiver: (any DaemonInputReceiver)?
    private var early: [DaemonInput] = []

    init(loop: ControllerLoop) {
        self.loop = loop
    }

    /// From any thread: hands `input` over on the loop.
    func post(_ input: DaemonInput) {
        loop.post { self.deliver(input) }
    }

    /// From the loop itself (session events and timers are reported there): hands `input` over now.
    func deliver(_ input: DaemonInput) {
        loop.preconditionIsCurrent("(DaemonInbox.deliver)")
        guard let receiver else {
            early.append(input)
            return
        }
        receiver.receive(input)
    }

    /// Connects the daemon: from here on every input goes to it, those kept so far first.
    func attach(_ receiver: any DaemonInputReceiver) {
        loop.post {
            self.receiver = receiver
            let kept = self.early
            self.early = []
            for input in kept { receiver.receive(input) }
        }
    }

    /// The status, read on the loop and handed to `reply` there; nil until the daemon is
    /// attached. Never waits: the control thread must not block on the loop, or shutdown (which
    /// runs on the loop and stops the control thread) could deadlock with a status request.
    func status(_ reply: @escaping @Sendable (ApplianceStatus?) -> Void) {
        loop.post { [self] in reply(receiver?.status()) }
    }
}
