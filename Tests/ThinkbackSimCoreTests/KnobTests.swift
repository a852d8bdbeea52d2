import XCTest

@testable import ThinkbackSimCore

/// Per-request knobs are parsed from `x-sim-*` headers and change delivery and faults.
final class KnobTests: XCTestCase {
    func knobs(_ headers: [(String, String)], config: SimConfig = SimConfig()) throws -> SimKnobs {
        try SimKnobs.parse(
            SimRequest(method: "POST", path: "/v1/chat/completions", headers: headers.map { (name: $0.0, value: $0.1) }),
            config: config)
    }

    func testParsesEveryKnob() throws {
        let k = try knobs([
            ("X-Sim-TTFB-Ms", "250"), ("x-sim-interval-ms", "2.5"), ("x-sim-fragment", "7"), ("x-sim-reasoning-length", "50"),
            ("x-sim-drop-after", "3"), ("x-sim-stall-after", "4"), ("x-sim-status", "503"), ("x-sim-retry-after", "1"),
            ("x-sim-fail-times", "2"), ("x-sim-fault-id", "abc"), ("x-sim-flavor", "kimi"), ("x-sim-empty-placeholder", "accept"),
            ("x-sim-placeholders", "refuse"), ("x-sim-hygiene", "off"), ("x-sim-sse-errors", "1"),
            ("x-sim-error-variant", "alt"), ("x-sim-block-order", "text-first"), ("x-sim-tool-calls", "2"),
            ("x-sim-leak-tool-call", "yes"), ("x-sim-fast", "true"), ("x-sim-tool-ids", "Kimi"), ("x-sim-repeat-calls", "1"),
            ("x-sim-astral", "on"),
        ])
        XCTAssertEqual(k.toolIDs, .kimi)
        XCTAssertTrue(k.repeatCalls && k.astral)
        XCTAssertEqual(k.plan, SimStreamPlan(firstByteDelayMs: 250, eventIntervalMs: 2.5, dropAfterEvents: 3, stallAfterEvents: 4))
        XCTAssertEqual(k.fragmentSize, 7)
        XCTAssertEqual(k.reasoningLength, 50)
        XCTAssertEqual(k.status, 503)
        XCTAssertEqual(k.retryAfter, "1")
        XCTAssertEqual(k.failTimes, 2)
        XCTAssertEqual(k.faultID, "abc")
        XCTAssertEqual(k.flavor, .kimi)
        XCTAssertTrue(k.emptyPlaceholderAccepted)
        XCTAssertFalse(k.placeholdersAccepted)
        XCTAssertFalse(k.strictHygiene)
        XCTAssertTrue(k.sseErrors && k.alternateErrorShape && k.textBlockFirst && k.leakToolCall && k.fast)
        XCTAssertEqual(k.toolCallCount, 2)
    }

    func testEventsPerSecondBecomesAnInterval() throws {
        XCTAssertEqual(try knobs([("x-sim-events-per-sec", "50")]).eventIntervalMs, 20)
    }

    func testDefaultsComeFromTheConfig() throws {
        let k = try knobs([], config: SimConfig(flavor: .kimi, fragmentSize: 5, firstByteDelayMs: 9, eventIntervalMs: 3))
        XCTAssertEqual(k.plan, SimStreamPlan(firstByteDelayMs: 9, eventIntervalMs: 3))
        XCTAssertEqual(k.fragmentSize, 5)
        XCTAssertFalse(k.emptyPlaceholderAccepted, "Kimi refuses \"\" by default")
        XCTAssertFalse(k.strictHygiene)
        XCTAssertTrue(try knobs([]).strictHygiene, "MiMo hygiene is on by default")
    }

    func testBadOrUnknownKnobIsA400ThatIsNotARefusal() {
        XCTAssertThrowsError(try knobs([("x-sim-drop-after", "soon")]))
        XCTAssertThrowsError(try knobs([("x-sim-status", "200")]))
        XCTAssertThrowsError(try knobs([("x-sim-nonsense", "1")]))
        let client = Client(sim: makeSim())
        let r = client.chat(["model": "m", "messages": [["role": "user", "content": "x"]]], headers: [("x-sim-fragment", "0")])
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(bodyText(r).contains("sim_knob_error"))
        XCTAssertEqual(client.sim.verdictCount("knob_error"), 1)
    }

    func testStatusFaultWithRetryAfter() {
        let client = Client(sim: makeSim())
        let r = client.chat(
            ["model": "m", "messages": [["role": "user", "content": "x"]]], headers: [("x-sim-status", "429"), ("x-sim-retry-after", "1")])
        XCTAssertEqual(r.status, 429)
        XCTAssertTrue(r.headers.contains { $0.0 == "Retry-After" && $0.1 == "1" })
        XCTAssertEqual((foundationJSON(r.body)["error"] as? [String: Any])?["type"] as? String, "rate_limit_error")
        let r503 = client.messages(
            ["model": "m", "max_tokens": 1, "messages": [["role": "user", "content": "x"]]], headers: [("x-sim-status", "503")])
        XCTAssertEqual(r503.status, 503)
        XCTAssertEqual(foundationJSON(r503.body)["type"] as? String, "error")
    }

    func testFaultAppliesToTheFirstNAttemptsOfAnID() {
        let client = Client(sim: makeSim())
        let body: [String: Any] = ["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "x"]]]
        let headers = [("x-sim-status", "503"), ("x-sim-fail-times", "2"), ("x-sim-fault-id", "t1")]
        XCTAssertEqual(client.chat(body, headers: headers).status, 503)
        XCTAssertEqual(client.chat(body, headers: [("x-sim-fault-id", "other")] + headers.prefix(2)).status, 503)
        XCTAssertEqual(client.chat(body, headers: headers).status, 503)
        XCTAssertEqual(client.chat(body, headers: headers).status, 200)
        XCTAssertEqual(client.sim.verdictCount("fault_status"), 3)
        // Reset forgets the attempts.
        client.sim.reset()
        XCTAssertEqual(client.chat(body, headers: headers).status, 503)
    }

    func testHangUpAnswersNothingAndCountsAsAFault() {
        let client = Client(sim: makeSim())
        let body: [String: Any] = ["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "x"]]]
        let headers = [("x-sim-hang-up", "1"), ("x-sim-fail-times", "1"), ("x-sim-fault-id", "h")]
        guard case .hangUp = client.chat(body, headers: headers) else { return XCTFail("the first attempt is hung up on") }
        XCTAssertEqual(client.chat(body, headers: headers).status, 200, "the next is answered")
        XCTAssertEqual(client.sim.verdictCount("fault_hang_up"), 1)
        XCTAssertEqual(client.chat(body, headers: [("x-sim-hang-up", "yes")]).status, 400, "only 1 is a value")
    }

    func testDropAndStallBecomePartOfTheStreamPlan() {
        let client = Client(sim: makeSim())
        let body: [String: Any] = ["model": "mimo-v2.5-pro", "stream": true, "messages": [["role": "user", "content": "x"]]]
        let r = client.chat(body, headers: [("x-sim-drop-after", "3"), ("x-sim-ttfb-ms", "100"), ("x-sim-events-per-sec", "10")])
        XCTAssertEqual(r.plan, SimStreamPlan(firstByteDelayMs: 100, eventIntervalMs: 100, dropAfterEvents: 3))
        let stalled = client.chat(
            body, headers: [("x-sim-stall-after", "2"), ("x-sim-fail-times", "1"), ("x-sim-fault-id", "s")])
        XCTAssertEqual(stalled.plan?.stallAfterEvents, 2)
        let retried = client.chat(
            body, headers: [("x-sim-stall-after", "2"), ("x-sim-fail-times", "1"), ("x-sim-fault-id", "s")])
        XCTAssertEqual(retried.plan, SimStreamPlan())
    }

    func testNonStreamAnswerWithTimingKnobsComesAsOnePieceStream() {
        let client = Client(sim: makeSim())
        let body: [String: Any] = ["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "x"]]]
        guard case .full = client.chat(body) else { return XCTFail("no knobs: sent whole") }
        let r = client.chat(body, headers: [("x-sim-ttfb-ms", "500")])
        guard case .stream(200, _, let events, let plan) = r else { return XCTFail() }
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(plan.firstByteDelayMs, 500)
        XCTAssertFalse(foundationJSON(events[0]).isEmpty)
    }

    func testFastModeServesACannedAnswerOfTheRequestedKind() {
        let client = Client(sim: makeSim(SimConfig(fast: true)))
        let missing = toolHistory(reasoning: nil)
        let r = client.chat(toolRequest(missing))
        XCTAssertEqual(r.status, 200, "no validation in fast mode")
        XCTAssertEqual(assistantMessage(r)["content"] as? String, "Canned answer.")
        XCTAssertEqual(foundationJSON(r.body)["model"] as? String, "mimo-v2.5-pro")
        let s = client.chat(toolRequest(missing, extra: ["stream": true]))
        XCTAssertEqual(parseSSE(s.body).events.last?.data, "[DONE]")
        let a = client.messages(["model": "m", "max_tokens": 1, "stream": true, "messages": [["role": "user", "content": "x"]]])
        XCTAssertEqual(parseSSE(a.body).events.last?.event, "message_stop")
        XCTAssertEqual(client.sim.ledgerTotals.total, 0, "no ledger in fast mode")
        XCTAssertEqual(client.sim.verdictCount("fast"), 3)
    }
}

final class SimKnobsFlavorDefaultsTests: XCTestCase {
    func knobs(_ headers: [(String, String)]) throws -> SimKnobs {
        try SimKnobs.parse(
            SimRequest(method: "POST", path: "/v1/chat/completions", headers: headers.map { (name: $0.0, value: $0.1) }),
            config: SimConfig())
    }

    func testAFlavorHeaderBringsItsEmptyPlaceholderDefault() throws {
        XCTAssertFalse(try knobs([("x-sim-flavor", "kimi")]).emptyPlaceholderAccepted)
        XCTAssertTrue(try knobs([("x-sim-flavor", "deepseek")]).emptyPlaceholderAccepted)
        XCTAssertTrue(try knobs([("x-sim-empty-placeholder", "accept"), ("x-sim-flavor", "kimi")]).emptyPlaceholderAccepted)
        XCTAssertFalse(try knobs([("x-sim-flavor", "mimo"), ("x-sim-empty-placeholder", "refuse")]).emptyPlaceholderAccepted)
    }
}
