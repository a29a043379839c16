import XCTest
@testable import OmniCore

/// The controller's feeding rule: an event raised while another event's actions are carried out
/// waits until they are all done, and is then handled against the state they left.
final class ApplianceEventQueueTests: XCTestCase {
    func testEnqueueStartsADrainOnlyWhenNoneIsUnderWay() {
        var q = ApplianceEventQueue()
        XCTAssertTrue(q.enqueue(.linkReady))
        XCTAssertTrue(q.isDraining)
        XCTAssertFalse(q.enqueue(.linkLost), "a drain is under way: it will get to this one")
        XCTAssertEqual(q.next(), .linkReady)
        XCTAssertFalse(q.enqueue(.linkConnecting))
        XCTAssertEqual(q.next(), .linkLost)
        XCTAssertEqual(q.next(), .linkConnecting)
        XCTAssertNil(q.next())
        XCTAssertFalse(q.isDraining)
        XCTAssertTrue(q.enqueue(.linkReady), "the drain ended: the next event starts a new one")
    }

    /// A controller whose actions raise events, as the daemon's do: here the `.reconnect` action
    /// makes the session report `connecting` at once, from inside the call.
    final class Controller {
        enum Entry: Equatable {
            case handled(ApplianceEvent)
            case performed(ApplianceAction)
        }

        var machine = ApplianceMachine(settings: ApplianceSettings(mode: .pushToTalk))
        var queue = ApplianceEventQueue()
        var now: Duration = .seconds(1)
        var log: [Entry] = []
        var raiseOnReconnect: ApplianceEvent?

        func feed(_ event: ApplianceEvent) {
            guard queue.enqueue(event) else { return }
            while let next = queue.next() {
                now += .milliseconds(10)
                log.append(.handled(next))
                for action in machine.handle(next, at: now) {
                    log.append(.performed(action))
                    if action == .reconnect, let raised = raiseOnReconnect { feed(raised) }
                }
            }
        }
    }

    func testAnEventRaisedByAnActionWaitsForTheRestOfThatEventsActions() {
        let c = Controller()
        c.feed(.linkReady)
        XCTAssertEqual(c.machine.state, .ready)
        c.log = []
        c.raiseOnReconnect = .linkLost
        c.feed(.button(.longPress))  // the default long-press action: reconnect

        // The long press's actions all ran, in their own order, and only then was the raised
        // event handled: against the state the long press left (connecting), not the one before.
        XCTAssertEqual(c.log, [
            .handled(.button(.longPress)),
            .performed(.logNotice("reconnecting at the user's request")),
            .performed(.reconnect),
            .performed(.setLEDs(.connecting)),
            .handled(.linkLost),
            .performed(.setLEDs(.offline)),
        ])
        XCTAssertFalse(c.queue.isDraining)
        XCTAssertEqual(c.queue.count, 0)
        XCTAssertEqual(c.machine.state, .offline)
    }

    func testEventsRaisedInTurnAreHandledInTheOrderRaised() {
        var q = ApplianceEventQueue()
        var handled: [ApplianceEvent] = []
        func feed(_ e: ApplianceEvent) {
            guard q.enqueue(e) else { return }
            while let next = q.next() {
                handled.append(next)
                if next == .linkReady {
                    feed(.playbackStarted)
                    feed(.playbackDrained)
                }
                if next == .playbackStarted { feed(.audioDeviceBack) }
            }
        }
        feed(.linkReady)
        XCTAssertEqual(handled, [.linkReady, .playbackStarted, .playbackDrained, .audioDeviceBack])
    }
}
