import RealtimeProtocol
import XCTest

@testable import SimulatorCore

/// The hostile faults (issue 16): each sends exactly what its parameters say, at its moment.
final class HostileFaultTests: XCTestCase {
    func plan(_ query: String) -> FaultPlan? { try! FaultPlan.parse(QueryString.parse(query)) }

    /// A manual turn with a 1 s tone answer (10 chunks), burst.
    func turn(_ fault: FaultPlan?) -> Harness {
        let h = Harness(options: .fast(toneMs: 1000), fault: fault)
        h.send(manualUpdate)
        h.append(Signal.tone(ms: 200))
        h.send(.inputAudioBufferCommit)
        h.send(.responseCreate(nil))
        h.settle()
        return h
    }

    var messages: (Harness) -> [RawMessage] = { h in
        h.actions.compactMap { if case .sendMessage(let m) = $0 { m } else { nil } }
    }

    func raws(_ h: Harness) -> [String] { h.actions.compactMap { if case .sendRaw(let s) = $0 { s } else { nil } } }

    func index(of type: String, in h: Harness) -> Int {
        h.actions.firstIndex { if case .send(let e) = $0 { e.type == type } else { false } }!
    }

    func testFloodOfMalformedFramesBeforeTheAnswer() {
        let h = turn(plan("fault=flood&fault_count=500"))
        let r = raws(h)
        XCTAssertEqual(r.count, 500)
        for s in r { XCTAssertThrowsError(try JSONParser.parse(s)) }
        XCTAssertEqual(h.events("response.done").count, 1, "the answer proceeds")
        let lastRaw = h.actions.lastIndex { if case .sendRaw = $0 { true } else { false } }!
        XCTAssertLessThan(lastRaw, index(of: "response.created", in: h))
        XCTAssertEqual(plan("fault=flood")?.count, nil, "default applied when firing: 20000")
        let padded = raws(turn(plan("fault=flood&fault_count=2&fault_bytes=1000")))
        XCTAssertEqual(padded.map { $0.utf8.count / 10 }, [99, 99], "about fault_bytes each")
    }

    func testFloodOfUnknownEvents() throws {
        let h = turn(plan("fault=flood&fault_count=3&fault_flood=unknown"))
        let types = try raws(h).map { try ServerEvent.decode($0).type }
        XCTAssertEqual(types, ["sim.flood", "sim.flood", "sim.flood"])
        XCTAssertThrowsError(try FaultPlan.parse(QueryString.parse("fault=flood&fault_flood=lava")))
        let errors = turn(plan("fault=flood&fault_count=2&fault_flood=error")).events("error")
        XCTAssertEqual(errors.count, 2)
        XCTAssertTrue(errors.allSatisfy { if case .error(let d) = $0.body { d.isRecoverable } else { false } })
    }

    func testInvalidUTF8TextFrame() {
        let h = turn(plan("fault=invalid_utf8"))
        let m = messages(h)
        XCTAssertEqual(m.count, 1)
        XCTAssertFalse(m[0].binary)
        XCTAssertNil(String(validating: m[0].payload, as: UTF8.self))
        XCTAssertEqual(h.events("response.done").count, 1)
    }

    func testInvalidBase64SpoilsTheAnswersDeltasThreeWays() {
        let h = turn(plan("fault=invalid_base64"))
        let deltas = h.events("response.audio.delta").compactMap { e -> String? in
            if case .audioDelta(_, let d) = e.body { d } else { nil }
        }
        XCTAssertEqual(deltas.count, 10)
        for d in deltas { XCTAssertNil(PCM16.samples(fromBase64: d), d.prefix(12) + "…") }
        XCTAssertTrue(deltas[0].hasPrefix("!"))
        XCTAssertEqual(deltas[1].utf8.count % 4, 1)
        XCTAssertEqual(Base64.decode(deltas[2]).map { $0.count % 2 }, 1)
        XCTAssertEqual(h.actions.filter { $0 == .faultFired(.invalidBase64) }.count, 1)

        let some = turn(plan("fault=invalid_base64&fault_count=2"))
        let valid = some.events("response.audio.delta").filter { e in
            if case .audioDelta(_, let d) = e.body { PCM16.samples(fromBase64: d) != nil } else { false }
        }
        XCTAssertEqual(valid.count, 8, "only the first fault_count deltas are spoiled")
    }

    func testDeepNesting() throws {
        let h = turn(plan("fault=deep_nesting&fault_depth=1000"))
        let r = raws(h)
        XCTAssertEqual(r.count, 1)
        XCTAssertEqual(r[0].filter { $0 == "[" }.count, 1000)
        XCTAssertThrowsError(try JSONParser.parse(r[0]), "deeper than the parser allows")
        XCTAssertEqual(plan("fault=deep_nesting")?.depth, 100_000)
    }

    func testBinaryFrames() {
        let h = turn(plan("fault=binary_frames&fault_count=4&fault_bytes=10"))
        let m = messages(h)
        XCTAssertEqual(m.count, 4)
        XCTAssertTrue(m.allSatisfy { $0.binary && $0.payload.count == 10 })
        XCTAssertEqual(plan("fault=binary_frames")?.bytes, 1024)
    }

    func testSlowLorisSendsOneByteFramesWithGaps() throws {
        let h = turn(plan("fault=slow_loris&fault_bytes=100&fault_gap_ms=25"))
        let m = messages(h)
        XCTAssertEqual(m.count, 1)
        XCTAssertEqual(m[0].payload.count, 100)
        XCTAssertEqual(m[0].fragmentBytes, 1)
        XCTAssertEqual(m[0].gapMs, 25)
        XCTAssertEqual(try ServerEvent.decode(String(decoding: m[0].payload, as: UTF8.self)).type, "sim.slow")
        XCTAssertEqual(h.events("response.done").count, 1)
    }

    func testFragmentedOversizeFrame() {
        let h = turn(plan("fault=oversize_frame&fault_bytes=300000&fault_fragment=4096"))
        let m = messages(h)
        XCTAssertEqual(m.first?.payload.count, 300_000)
        XCTAssertEqual(m.first?.fragmentBytes, 4096)
        XCTAssertTrue(raws(h).isEmpty)
    }

    func testResetBeforeSessionCreated() {
        let h = Harness(options: .fast(), fault: plan("fault=reset_before_created"))
        XCTAssertEqual(h.actions, [.faultFired(.resetBeforeCreated), .reset])
        XCTAssertNil(h.session.nextDeadline)
    }

    func testResetAfterSessionCreated() {
        let h = Harness(options: .fast(), fault: plan("fault=reset_after_created"))
        XCTAssertEqual(h.types, ["session.created"])
        XCTAssertEqual(h.actions.suffix(2), [.faultFired(.resetAfterCreated), .reset])
        XCTAssertTrue(h.send(manualUpdate).isEmpty, "a closed session answers nothing")
    }

    func testResetAfterResponseDone() {
        let h = turn(plan("fault=reset_after_done"))
        XCTAssertEqual(h.types.last, "response.done")
        XCTAssertEqual(h.actions.suffix(2), [.faultFired(.resetAfterDone), .reset])
        XCTAssertEqual(h.events("response.audio.delta").count, 10, "the whole answer first")
    }

    func testFaultConnection() {
        let p = plan("fault=reset_before_created&fault_connection=2")!
        XCTAssertFalse(p.applies(toConnection: 1))
        XCTAssertTrue(p.applies(toConnection: 2))
        XCTAssertFalse(p.applies(toConnection: 3))
        XCTAssertTrue(plan("fault=flood")!.applies(toConnection: 7), "default: every connection")
    }
}
