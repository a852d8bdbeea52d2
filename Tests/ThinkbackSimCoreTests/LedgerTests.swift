import XCTest

@testable import ThinkbackSimCore

/// The fidelity ledger classifies each history assistant message with tool calls.
final class LedgerTests: XCTestCase {
    /// Asks a tool question as `client`, returns the assistant message and the tool results.
    func toolTurn(_ client: Client) -> (assistant: [String: Any], results: [[String: Any]]) {
        let r = client.chat(toolRequest([["role": "user", "content": "Weather?"]]), headers: [("x-sim-tool-calls", "2")])
        let message = assistantMessage(r)
        let results = (message["tool_calls"] as! [[String: Any]]).map {
            ["role": "tool", "tool_call_id": $0["id"] as! String, "content": "ok"] as [String: Any]
        }
        return (message, results)
    }

    /// Sends a follow-up with `assistant` in the history and returns the one verdict.
    func verdict(_ client: Client, _ assistant: [String: Any], _ results: [[String: Any]], headers: [(String, String)] = [])
        -> LedgerCategory?
    {
        let messages: [[String: Any]] = [["role": "user", "content": "Weather?"], assistant] + results
        _ = client.chat(toolRequest(messages), headers: headers)
        let verdicts = client.sim.lastVerdicts(tenant: client.key!)
        XCTAssertEqual(verdicts.count, 1)
        return verdicts.first?.category
    }

    func testExactWhenReasoningComesBackByteForByte() {
        let client = Client(sim: makeSim())
        let (assistant, results) = toolTurn(client)
        XCTAssertEqual(verdict(client, assistant, results), .exact)
    }

    func testExactNeedsTheSameBytesNotJustCanonicallyEquivalentText() {
        let client = Client(sim: makeSim())
        var (assistant, results) = toolTurn(client)
        let reasoning = assistant["reasoning_content"] as! String
        // NFC vs NFD: equal as Swift Strings, different bytes.
        assistant["reasoning_content"] = reasoning + "e\u{301}"
        let nfc = reasoning + "\u{E9}"
        XCTAssertEqual(reasoning + "e\u{301}", nfc)
        XCTAssertEqual(verdict(client, assistant, results), .wrong)
    }

    func testMissingWhenAbsentOrNull() {
        let client = Client(sim: makeSim())
        var (assistant, results) = toolTurn(client)
        assistant["reasoning_content"] = nil
        XCTAssertEqual(verdict(client, assistant, results), .missing)
        assistant["reasoning_content"] = NSNull()
        XCTAssertEqual(verdict(client, assistant, results), .missing)
        XCTAssertEqual(client.sim.ledgerTotals[.missing], 2)
    }

    func testPlaceholderWhenEmptyWhitespaceOrConfiguredText() {
        let client = Client(sim: makeSim(SimConfig(placeholderTexts: ["(reasoning unavailable)"])))
        var (assistant, results) = toolTurn(client)
        for p in ["", " ", "\n\t", "(reasoning unavailable)"] {
            assistant["reasoning_content"] = p
            XCTAssertEqual(verdict(client, assistant, results), .placeholder, p.debugDescription)
        }
    }

    func testWrongWhenSomethingElseOrAnotherResponsesReasoning() {
        let client = Client(sim: makeSim())
        var (assistant, results) = toolTurn(client)
        let (other, _) = toolTurn(client)
        assistant["reasoning_content"] = "made up"
        XCTAssertEqual(verdict(client, assistant, results), .wrong)
        assistant["reasoning_content"] = other["reasoning_content"]
        XCTAssertEqual(verdict(client, assistant, results), .wrong)
    }

    func testForeignWhenReasoningWasIssuedToAnotherTenant() {
        let sim = makeSim()
        let alice = Client(sim: sim, key: "sk-alice")
        let bob = Client(sim: sim, key: "sk-bob")
        let (aliceAssistant, aliceResults) = toolTurn(alice)
        // Bob sends Alice's message, ids and reasoning included: a leak.
        XCTAssertEqual(verdict(bob, aliceAssistant, aliceResults), .foreign)
        XCTAssertEqual(sim.ledgerTotals(tenant: "sk-bob")[.foreign], 1)
        XCTAssertEqual(sim.ledgerTotals(tenant: "sk-alice")[.foreign], 0)
        XCTAssertEqual(verdict(alice, aliceAssistant, aliceResults), .exact)
    }

    func testExactWhenClientRenumbersOrStripsIDs() {
        let client = Client(sim: makeSim())
        var (assistant, results) = toolTurn(client)
        // Stripped underscore: found by the normalised id.
        var calls = assistant["tool_calls"] as! [[String: Any]]
        for i in calls.indices {
            calls[i]["id"] = (calls[i]["id"] as! String).replacingOccurrences(of: "_", with: "")
            results[i]["tool_call_id"] = calls[i]["id"]
        }
        assistant["tool_calls"] = calls
        XCTAssertEqual(verdict(client, assistant, results), .exact)
        // Renumbered, arguments re-spelled: found by the content key.
        for i in calls.indices {
            calls[i]["id"] = "call_\(i)"
            results[i]["tool_call_id"] = "call_\(i)"
            var function = calls[i]["function"] as! [String: Any]
            let args = foundationJSON(function["arguments"] as! String)
            let data = try! JSONSerialization.data(withJSONObject: args, options: [.prettyPrinted])
            function["arguments"] = String(decoding: data, as: UTF8.self)
            calls[i]["function"] = function
        }
        assistant["tool_calls"] = calls
        XCTAssertEqual(verdict(client, assistant, results), .exact)
    }

    func testTextualizedWhenToolCallsBecamePlainText() {
        let client = Client(sim: makeSim())
        let messages: [[String: Any]] = [
            ["role": "user", "content": "Weather?"],
            ["role": "assistant", "content": "[tool call] get_time({\"timezone\": \"UTC\"})", "reasoning_content": " "],
            ["role": "user", "content": "[tool result get_time] 12:00"],
        ]
        XCTAssertEqual(client.chat(toolRequest(messages)).status, 200)
        XCTAssertEqual(client.sim.lastVerdicts(tenant: client.key!).map(\.category), [.textualized])
        XCTAssertEqual(client.sim.ledgerTotals[.textualized], 1)
    }

    func testCountsEvenWhenTheRequestIsRefused() {
        let client = Client(sim: makeSim())
        var (assistant, results) = toolTurn(client)
        assistant["reasoning_content"] = nil
        let messages: [[String: Any]] = [["role": "user", "content": "Weather?"], assistant] + results
        XCTAssertEqual(client.chat(toolRequest(messages)).status, 400)
        XCTAssertEqual(client.sim.ledgerTotals[.missing], 1)
    }

    func testPlainAssistantMessagesAreCountedApart() {
        let client = Client(sim: makeSim())
        let history = runToolRound(client, history: [], question: "Weather?")
        _ = client.chat(toolRequest(history + [["role": "user", "content": "And tomorrow?"]]))
        XCTAssertEqual(client.sim.plainLedgerTotals[.exact], 1)
        var stripped = history
        stripped[stripped.count - 1]["reasoning_content"] = nil
        _ = client.chat(toolRequest(stripped + [["role": "user", "content": "And tomorrow?"]]))
        XCTAssertEqual(client.sim.plainLedgerTotals[.missing], 1)
    }

    func testAnthropicClassificationUsesThinkingBlocks() {
        let sim = makeSim()
        let client = Client(sim: sim)
        let base: [String: Any] = ["model": "mimo-v2.5-pro", "max_tokens": 100, "tools": anthropicTools]
        var body = base
        body["messages"] = [["role": "user", "content": "Weather?"]]
        let blocks = foundationJSON(client.messages(body).body)["content"] as! [[String: Any]]
        let results = blocks.filter { $0["type"] as? String == "tool_use" }.map {
            ["type": "tool_result", "tool_use_id": $0["id"] as! String, "content": "ok"] as [String: Any]
        }
        body["messages"] = [
            ["role": "user", "content": "Weather?"], ["role": "assistant", "content": blocks], ["role": "user", "content": results],
        ]
        XCTAssertEqual(client.messages(body).status, 200)
        XCTAssertEqual(sim.lastVerdicts(tenant: client.key!).map(\.category), [.exact])
        let bob = Client(sim: sim, key: "sk-bob")
        _ = bob.messages(body)
        XCTAssertEqual(sim.lastVerdicts(tenant: "sk-bob").map(\.category), [.foreign])
    }

    func testStatsReportTotalsAndTenantsAndResetClearsThem() {
        let sim = makeSim()
        let client = Client(sim: sim)
        var (assistant, results) = toolTurn(client)
        _ = verdict(client, assistant, results)
        assistant["reasoning_content"] = nil
        _ = verdict(client, assistant, results)
        let stats = foundationJSON(client.get("/sim/stats").body)
        let ledger = stats["ledger"] as! [String: Int]
        XCTAssertEqual(ledger, ["exact": 1, "placeholder": 0, "foreign": 0, "wrong": 0, "missing": 1, "textualized": 0])
        let tenant = (stats["tenants"] as! [String: Any])["sk-tenant-a"] as! [String: Any]
        XCTAssertEqual((tenant["ledger"] as! [String: Int])["exact"], 1)
        XCTAssertEqual((tenant["last_request"] as! [[String: Any]]).first?["category"] as? String, "missing")
        let verdicts = stats["verdicts"] as! [String: Int]
        XCTAssertEqual(verdicts["accepted"], 2)
        XCTAssertEqual(verdicts["refused_reasoning"], 1)
        XCTAssertEqual(stats["chat_requests"] as? Int, 3)

        XCTAssertEqual(sim.handle(SimRequest(method: "POST", path: "/sim/reset")).status, 200)
        let after = foundationJSON(client.get("/sim/stats").body)
        XCTAssertEqual((after["ledger"] as! [String: Int]).values.reduce(0, +), 0)
        XCTAssertEqual((after["verdicts"] as! [String: Int])["accepted"], 0)
        // Issued reasoning survives a plain reset; `?all=1` forgets it.
        _ = sim.handle(SimRequest(method: "POST", path: "/sim/reset", query: "all=1"))
        XCTAssertEqual(foundationJSON(client.get("/sim/stats").body)["issued"] as? Int, 0)
    }

    func testLedgerForgetsOldestBeyondCapacity() {
        let client = Client(sim: makeSim(SimConfig(ledgerCapacity: 1)))
        let (first, firstResults) = toolTurn(client)
        _ = toolTurn(client)
        XCTAssertEqual(verdict(client, first, firstResults), .wrong)
    }
}
