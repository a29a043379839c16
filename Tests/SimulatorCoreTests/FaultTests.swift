import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// Every fault produces its action, at the planned moment.
final class FaultTests: XCTestCase {
    func plan(_ query: String) -> FaultPlan? { try! FaultPlan.parse(QueryString.parse(query)) }

    /// A manual turn with a 1 s tone answer (10 chunks), burst.
    func turn(_ fault: FaultPlan?, options: SimOptions = .fast(toneMs: 1000)) -> Harness {
        let h = Harness(options: options, fault: fault)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        return h
    }

    func testCloseMidAnswer() {
        let h = turn(plan("fault=close_mid_answer&fault_after_deltas=3"))
        XCTAssertEqual(h.events("response.audio.delta").count, 3)
        XCTAssertEqual(h.actions.suffix(2), [.faultFired(.closeMidAnswer), .close(code: 1011, reason: "")])
        XCTAssertFalse(h.types.contains("response.done"))
        XCTAssertTrue(h.session.isClosed)
        XCTAssertNil(h.session.nextDeadline)
    }

    func testCloseCodeParameter() {
        let h = turn(plan("fault=close_mid_answer&fault_code=4000&fault_after_deltas=0"))
        XCTAssertEqual(h.events("response.audio.delta").count, 0)
        XCTAssertEqual(h.actions.last, .close(code: 4000, reason: ""))
    }

    func testResetMidAnswer() {
        let h = turn(plan("fault=reset_mid_answer"))
        XCTAssertEqual(h.events("response.audio.delta").count, 2, "default: after 2 deltas")
        XCTAssertEqual(h.actions.suffix(2), [.faultFired(.resetMidAnswer), .reset])
    }

    func testStallMidAnswer() {
        let h = turn(plan("fault=stall_mid_answer&fault_after_deltas=4"))
        XCTAssertEqual(h.events("response.audio.delta").count, 4)
        XCTAssertEqual(h.actions.last, .stall)
        XCTAssertTrue(h.session.isStalled)
        XCTAssertFalse(h.session.isClosed, "the socket stays open")
        let n = h.log.count
        h.send(.responseCancel)
        h.advance(by: .seconds(1000))
        XCTAssertEqual(h.log.count, n, "nothing at all is sent any more, not even the idle close")
    }

    func testFaultOnSecondResponseOnly() {
        var o = SimOptions.fast(toneMs: 1000)
        o.idleTimeoutS = 0
        let h = Harness(options: o, fault: plan("fault=close_mid_answer&fault_response=2&fault_after_deltas=1"))
        h.send(manualUpdate)
        for _ in 0..<2 {
            h.append(Signal.tone(ms: 200))
            h.send(.inputAudioBufferCommit)
            h.send(.responseCreate(nil))
            h.settle()
        }
        XCTAssertEqual(h.events("response.done").count, 1)
        XCTAssertEqual(h.events("response.audio.delta").count, 11)
        XCTAssertEqual(h.actions.last, .close(code: 1011, reason: ""))
    }

    func testRateLimit() {
        let h = turn(plan("fault=rate_limit"))
        XCTAssertFalse(h.types.contains("response.created"))
        guard let e = h.lastError() else { return XCTFail() }
        XCTAssertEqual(e.code, "Throttling.RateQuota")
        XCTAssertEqual(e.message, "Requests rate limit exceeded, please try again later.")
        XCTAssertNotEqual(e.type, "invalid_request_error", "fatal class (§8.1)")
        XCTAssertEqual(h.actions.last, .close(code: 1013, reason: ""))
    }

    func testInternalErrorWithoutClose() {
        let h = turn(plan("fault=internal_error&fault_close=0"))
        XCTAssertEqual(h.lastError()?.message, "Internal service error: null")
        XCTAssertEqual(h.lastError()?.type, "server_error")
        XCTAssertFalse(h.session.isClosed)
        XCTAssertFalse(h.actions.contains { if case .close = $0 { true } else { false } })
    }

    func testInternalErrorCloses() {
        let h = turn(plan("fault=internal_error"))
        XCTAssertEqual(h.actions.last, .close(code: 1011, reason: ""))
    }

    func testMalformedJSON() {
        let h = turn(plan("fault=malformed_json"))
        let raws = h.actions.compactMap { if case .sendRaw(let s) = $0 { s } else { nil } }
        XCTAssertEqual(raws.count, 1)
        XCTAssertThrowsError(try JSONParser.parse(raws[0]))
        XCTAssertEqual(h.events("response.done").count, 1, "the answer proceeds")
        let rawIndex = h.actions.firstIndex { if case .sendRaw = $0 { true } else { false } }!
        let createdIndex = h.actions.firstIndex { if case .send(let e) = $0 { e.type == "response.created" } else { false } }!
        XCTAssertLessThan(rawIndex, createdIndex)
    }

    func testOversizeFrame() {
        let h = turn(plan("fault=oversize_frame&fault_bytes=300000"))
        let raws = h.actions.compactMap { if case .sendRaw(let s) = $0 { s } else { nil } }
        XCTAssertEqual(raws.first?.utf8.count, 300_000)
        let v = try! JSONParser.parse(raws[0])
        XCTAssertEqual(v.objectValue?["type"]?.stringValue, "sim.oversize")
        XCTAssertEqual(h.events("response.done").count, 1)
        XCTAssertEqual(plan("fault=oversize_frame")?.bytes, 5 << 20)
    }

    func testSessionCap() {
        var o = SimOptions.fast()
        o.idleTimeoutS = 0
        let h = Harness(options: o, fault: plan("fault=session_cap&fault_at_ms=1500"))
        h.advance(to: .milliseconds(1499))
        XCTAssertNil(h.lastError())
        h.advance(to: .milliseconds(1600))
        XCTAssertEqual(h.lastError()?.code, "session_expired")
        XCTAssertEqual(h.actions.last, .close(code: 1000, reason: ""))
        XCTAssertEqual(h.log.last?.at, .milliseconds(1520), "closed closeDelayMs after the error")
    }

    func testTimeTriggeredReset() {
        let h = Harness(options: .fast(), fault: plan("fault=reset_mid_answer&fault_at_ms=700"))
        h.advance(to: .seconds(1))
        XCTAssertEqual(h.actions.last, .reset)
        XCTAssertEqual(h.log.last?.at, .milliseconds(700))
    }

    func testAuthRejectIsAHandshakeFault() {
        let p = HandshakePolicy(apiKey: nil)
        let d = p.decide(uri: "/api-ws/v1/realtime?model=m&fault=auth_reject", header: { _ in "Bearer k" })
        guard case .reject(401, _) = d else { return XCTFail("\(d)") }
        let d2 = p.decide(uri: "/api-ws/v1/realtime?model=m&fault=auth_reject&fault_status=403", header: { _ in "Bearer k" })
        guard case .reject(403, _) = d2 else { return XCTFail("\(d2)") }
    }

    func testEveryFaultHasATest() {
        // Keeps this file honest when a fault is added.
        XCTAssertEqual(Set(FaultKind.allCases.map(\.rawValue)), [
            "close_mid_answer", "reset_mid_answer", "stall_mid_answer", "rate_limit", "internal_error",
            "malformed_json", "oversize_frame", "auth_reject", "session_cap",
            // HostileFaultTests:
            "flood", "invalid_utf8", "invalid_base64", "deep_nesting", "binary_frames", "slow_loris",
            "reset_before_created", "reset_after_created", "reset_after_done",
        ])
    }

    func testParseErrors() {
        XCTAssertThrowsError(try FaultPlan.parse(QueryString.parse("fault=explode")))
        XCTAssertThrowsError(try FaultPlan.parse(QueryString.parse("fault=close_mid_answer&fault_after_deltas=x")))
        XCTAssertNil(try FaultPlan.parse(QueryString.parse("model=m")))
        XCTAssertNil(try FaultPlan.parse(QueryString.parse("fault=none")))
    }

    func testControlFile() throws {
        let p = try FaultPlan.resolve(query: [], controlFile: "# next connection\nfault=stall_mid_answer\nfault_after_deltas=5\n")
        XCTAssertEqual(p?.kind, .stallMidAnswer)
        XCTAssertEqual(p?.afterDeltas, 5)
        let q = try FaultPlan.resolve(query: QueryString.parse("fault=rate_limit"), controlFile: "fault=stall_mid_answer")
        XCTAssertEqual(q?.kind, .rateLimit, "the query wins")
        XCTAssertNil(try FaultPlan.resolve(query: [], controlFile: "\n# nothing\n"))
    }
}
