import XCTest
@testable import OmniCore

/// A turn the service refuses for its rate limit (a fatal `error`, then the service closes) is a
/// failure of its own cause, not a turn lost with the link that closes after it.
final class ApplianceRateLimitTests: XCTestCase {
    /// What the session manager reports for DashScope's throttling error, then the close.
    let refusal = SessionEvent.serverError(code: "Throttling.RateQuota", message: "Requests rate limit exceeded, please try again later.",
                                           type: "rate_limit_error", recoverable: false)
    let close = SessionEvent.linkLost(.closedByPeer(code: 1013, reason: "try again later"))

    @discardableResult
    func feed(_ d: inout ApplianceDriver, _ f: inout ApplianceLinkFeed, _ e: SessionEvent) -> [ApplianceAction] {
        guard let event = f.event(for: e) else { return [] }
        return d.send(event)
    }

    func testATurnRefusedForTheRateLimitFailsAsRateLimited() {
        for fixture in [ApplianceFixture.thinking, .thinkingCreated] {
            var d = fixture.make(.pushToTalk)
            var f = ApplianceLinkFeed()
            let a = feed(&d, &f, refusal)
            XCTAssertTrue(a.contains(.earcon(.error)), "\(fixture)")
            XCTAssertTrue(a.contains(.flashLEDs(.error)), "\(fixture)")
            feed(&d, &f, close)
            XCTAssertEqual(d.state, .offline, "\(fixture): the close is a real outage")
            XCTAssertEqual(d.machine.counters.failures, [.rateLimited: 1], "\(fixture)")
            XCTAssertEqual(d.machine.counters.turnsFailed, 1, "\(fixture)")
            XCTAssertFalse(d.machine.hasPendingReplay, "\(fixture): not re-sent into the limit")
        }
    }

    /// Any other fatal error still reaches the machine only as the link loss that follows it.
    func testOtherFatalErrorsStillCountAsALostLink() {
        var d = ApplianceFixture.thinkingCreated.make(.pushToTalk)
        var f = ApplianceLinkFeed()
        XCTAssertEqual(feed(&d, &f, .serverError(code: "InternalError", message: "Internal service error: null",
                                                 type: "server_error", recoverable: false)), [])
        feed(&d, &f, close)
        XCTAssertEqual(d.machine.counters.failures, [.linkLost: 1])
    }

    func testRateLimitErrorsAreRecognisedByTypeOrCode() {
        XCTAssertTrue(ApplianceEvent.isRateLimit(type: "rate_limit_error", code: nil))
        XCTAssertTrue(ApplianceEvent.isRateLimit(type: nil, code: "Throttling.AllocationQuota"))
        XCTAssertTrue(ApplianceEvent.isRateLimit(type: nil, code: "Throttling"))
        XCTAssertFalse(ApplianceEvent.isRateLimit(type: "server_error", code: "InternalError"))
        XCTAssertFalse(ApplianceEvent.isRateLimit(type: nil, code: "ThrottlingX"))
    }

    /// `omnid ctl status` names the cause, in its JSON and its text.
    func testTheStatusShowsTheRateLimitedCause() throws {
        var d = ApplianceFixture.thinking.make(.pushToTalk)
        var f = ApplianceLinkFeed()
        feed(&d, &f, refusal)
        let status = d.machine.status(connection: "ready")
        XCTAssertEqual(status.counters.failedByCause, ["rate-limited": 1])
        XCTAssertTrue(status.text.contains("failed by:   rate-limited 1"), status.text)
        XCTAssertEqual(try XCTUnwrap(ApplianceStatus(json: status.json)).counters.failedByCause, ["rate-limited": 1])
    }
}
