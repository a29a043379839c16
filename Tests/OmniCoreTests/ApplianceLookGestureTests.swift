import XCTest
@testable import OmniCore

/// The look gesture (`double_press = "look"`): the machine keeps the turn the gesture belongs
/// to (the camera side, in omnid, marks it); it never cancels or mutes.
final class ApplianceLookGestureTests: XCTestCase {
    func testPushToTalkSecondPressKeepsItsTurn() {
        var d = ApplianceDriver(ApplianceSettings(mode: .pushToTalk, doublePressAction: .look))
        d.send(.linkReady)
        d.press()
        d.release(after: .milliseconds(60))  // the tap: shorter than min_turn, dropped
        d.press(after: .milliseconds(100))
        let a = d.send(.button(.doublePress), after: .zero)
        XCTAssertEqual(a, [], "nothing stops or clears the turn")
        XCTAssertEqual(d.state, .listening)
        XCTAssertTrue(d.machine.streaming)
        let r = d.release(after: .seconds(2))
        XCTAssertTrue(r.contains(.commit))
        XCTAssertEqual(d.state, .thinking)
    }

    func testOutsideATurnItChangesNothing() {
        for mode in InteractionMode.allCases {
            var d = ApplianceDriver(ApplianceSettings(mode: mode, doublePressAction: .look))
            d.send(.linkReady)
            let before = d.state
            XCTAssertEqual(d.send(.button(.doublePress)), [], "\(mode)")
            XCTAssertEqual(d.state, before)
            XCTAssertFalse(d.machine.muted)
        }
    }
}
