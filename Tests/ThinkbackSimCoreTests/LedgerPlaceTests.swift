import XCTest

@testable import ThinkbackSimCore

/// The ledger finds a history message at its place in the conversation, so that look-alikes in
/// other rounds (repeated Kimi ids, repeated calls) never make another round's reasoning `exact`.
final class LedgerPlaceTests: XCTestCase {
    /// A conversation and the reasoning issued for its tool-call messages.
    struct Conversation {
        var history: [[String: Any]] = []
        /// Index in `history` of each assistant message with tool calls.
        var callMessages: [Int] = []
        /// The reasoning issued for each of them.
        var reasonings: [String] = []
    }

    /// `rounds` user questions, each answered with tool calls, tool results, then a final
    /// answer (its reasoning dropped); ids go through `rename` before they enter the history.
    func converse(
        _ client: Client, rounds: Int, headers: [(String, String)], tools: [[String: Any]] = weatherTools,
        rename: (String) -> String = { $0 }
    ) -> Conversation {
        var c = Conversation()
        for round in 1...rounds {
            c.history.append(["role": "user", "content": "Question \(round)?"])
            var message = assistantMessage(client.chat(["model": "mimo-v2.5-pro", "tools": tools, "messages": c.history], headers: headers))
            // Sent back while the conversation runs (MiMo refuses it missing); `verdicts` puts
            // whatever reasoning a test wants in its place.
            c.reasonings.append(message["reasoning_content"] as! String)
            var calls = message["tool_calls"] as! [[String: Any]]
            for i in calls.indices { calls[i]["id"] = rename(calls[i]["id"] as! String) }
            message["tool_calls"] = calls
            c.callMessages.append(c.history.count)
            c.history.append(message)
            for call in calls {
                c.history.append(["role": "tool", "tool_call_id": call["id"] as! String, "content": "result \(round)"])
            }
            var answer = assistantMessage(client.chat(["model": "mimo-v2.5-pro", "tools": tools, "messages": c.history], headers: headers))
            answer["reasoning_content"] = nil
            c.history.append(answer)
        }
        return c
    }

    /// Sends the history with `reasonings` on the tool-call messages and a new question;
    /// returns the tool-call messages' verdicts.
    func verdicts(_ client: Client, _ c: Conversation, reasonings: [String], history: [[String: Any]]? = nil,
                  headers: [(String, String)]) -> [LedgerCategory] {
        var messages = history ?? c.history
        for (i, r) in zip(c.callMessages, reasonings) { messages[i]["reasoning_content"] = r }
        messages.append(["role": "user", "content": "Next?"])
        XCTAssertEqual(client.chat(["model": "mimo-v2.5-pro", "tools": weatherTools, "messages": messages], headers: headers).status, 200)
        return client.sim.lastVerdicts(tenant: client.key!).filter(\.toolCalls).map(\.category)
    }

    func functions(_ c: Conversation) -> [[[String: String]]] {
        c.callMessages.map { (c.history[$0]["tool_calls"] as! [[String: Any]]).map { $0["function"] as! [String: String] } }
    }

    var renumbering: (String) -> String {
        var table: [String: String] = [:]
        return { id in
            if let t = table[id] { return t }
            table[id] = "tool-\(table.count + 1)"
            return table[id]!
        }
    }

    func testIdenticalCallsWithSwappedReasoningAreWrong() {
        for rename in [{ (id: String) in id }, renumbering] {
            let client = Client(sim: makeSim())
            let headers = [("x-sim-repeat-calls", "1")]
            let c = converse(client, rounds: 3, headers: headers, rename: rename)
            XCTAssertEqual(functions(c)[0], functions(c)[1])
            XCTAssertEqual(functions(c)[1], functions(c)[2])
            XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, headers: headers), [.exact, .exact, .exact])
            let swapped = [c.reasonings[1], c.reasonings[0], c.reasonings[2]]
            XCTAssertEqual(verdicts(client, c, reasonings: swapped, headers: headers), [.wrong, .wrong, .exact])
            let allLast = [c.reasonings[2], c.reasonings[2], c.reasonings[2]]
            XCTAssertEqual(verdicts(client, c, reasonings: allLast, headers: headers), [.wrong, .wrong, .exact])
        }
    }

    func testKimiIDsWithSwappedReasoningAreWrong() {
        let client = Client(sim: makeSim())
        let headers = [("x-sim-tool-ids", "kimi"), ("x-sim-tool-calls", "1")]
        let c = converse(client, rounds: 2, headers: headers, tools: [weatherTools[1]])
        let ids = c.callMessages.map { ((c.history[$0]["tool_calls"] as! [[String: Any]])[0])["id"] as! String }
        XCTAssertEqual(ids, ["functions.get_time:0", "functions.get_time:0"])
        XCTAssertNotEqual(functions(c)[0], functions(c)[1])
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, headers: headers), [.exact, .exact])
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings.reversed(), headers: headers), [.wrong, .wrong])
    }

    func testKimiIDsAndIdenticalCallsTogether() {
        let client = Client(sim: makeSim())
        let headers = [("x-sim-tool-ids", "kimi"), ("x-sim-repeat-calls", "1")]
        let c = converse(client, rounds: 3, headers: headers)
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, headers: headers), [.exact, .exact, .exact])
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings.reversed(), headers: headers), [.wrong, .exact, .wrong])
    }

    func testRenumberedIDsAreStillExactByPlace() {
        let client = Client(sim: makeSim())
        let c = converse(client, rounds: 3, headers: [], rename: renumbering)
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, headers: []), [.exact, .exact, .exact])
    }

    func testReasoningAndIDsDoNotChangeAPlace() {
        // The client sent reasoning on the final answers and renamed a tool_call_id: same places.
        let client = Client(sim: makeSim())
        let c = converse(client, rounds: 2, headers: [("x-sim-repeat-calls", "1")])
        var history = c.history
        for i in history.indices where history[i]["role"] as? String == "assistant" && history[i]["tool_calls"] == nil {
            history[i]["reasoning_content"] = "kept by the client"
        }
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, history: history, headers: []), [.exact, .exact])
    }

    func testAChangedHistoryFallsBackToASingleLookAlike() {
        let client = Client(sim: makeSim())
        let c = converse(client, rounds: 2, headers: [])
        var edited = c.history
        edited[0]["content"] = "Question 1, reworded by the client?"
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, history: edited, headers: []), [.exact, .exact])
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings.reversed(), history: edited, headers: []), [.wrong, .wrong])
    }

    func testAChangedHistoryWithSeveralLookAlikesIsNeverExact() {
        let client = Client(sim: makeSim())
        let headers = [("x-sim-repeat-calls", "1")]
        let c = converse(client, rounds: 2, headers: headers, rename: renumbering)
        var edited = c.history
        edited[0]["content"] = "Question 1, reworded by the client?"
        // Nothing was issued at these places any more, and the content names two answers.
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, history: edited, headers: headers), [.wrong, .wrong])
        XCTAssertEqual(verdicts(client, c, reasonings: [" ", " "], history: edited, headers: headers), [.placeholder, .placeholder])
    }

    func testAChangedHistoryStillTellsLookAlikesApartByTheirIDs() {
        let client = Client(sim: makeSim())
        let headers = [("x-sim-repeat-calls", "1")]
        let c = converse(client, rounds: 2, headers: headers)
        var edited = c.history
        edited[0]["content"] = "Question 1, reworded by the client?"
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, history: edited, headers: headers), [.exact, .exact])
        XCTAssertEqual(
            verdicts(client, c, reasonings: c.reasonings.reversed(), history: edited, headers: headers), [.wrong, .wrong])
    }

    func testEvictionKeepsTheOtherAnswersOfAContentKey() {
        let client = Client(sim: makeSim(SimConfig(ledgerCapacity: 4)))
        let headers = [("x-sim-repeat-calls", "1")]
        let c = converse(client, rounds: 3, headers: headers)  // six answers: round 1's are forgotten
        XCTAssertEqual(verdicts(client, c, reasonings: c.reasonings, headers: headers), [.wrong, .exact, .exact])
    }

    func testAnthropicIdenticalToolUsesWithSwappedThinkingAreWrong() {
        let client = Client(sim: makeSim())
        let headers = [("x-sim-repeat-calls", "1")]
        var messages: [[String: Any]] = []
        var thinking: [[String: Any]] = []
        var useMessages: [Int] = []
        for round in 1...2 {
            messages.append(["role": "user", "content": "Question \(round)?"])
            let body: [String: Any] = [
                "model": "mimo-v2.5-pro", "max_tokens": 100, "system": "Be brief.", "tools": anthropicTools, "messages": messages,
            ]
            let blocks = foundationJSON(client.messages(body, headers: headers).body)["content"] as! [[String: Any]]
            thinking.append(blocks.first { $0["type"] as? String == "thinking" }!)
            useMessages.append(messages.count)
            messages.append(["role": "assistant", "content": blocks])
            let results = blocks.filter { $0["type"] as? String == "tool_use" }.map {
                ["type": "tool_result", "tool_use_id": $0["id"] as! String, "content": "ok"] as [String: Any]
            }
            messages.append(["role": "user", "content": results])
            var final = foundationJSON(client.messages(
                ["model": "mimo-v2.5-pro", "max_tokens": 100, "system": "Be brief.", "tools": anthropicTools, "messages": messages],
                headers: headers).body)["content"] as! [[String: Any]]
            final.removeAll { $0["type"] as? String == "thinking" }
            messages.append(["role": "assistant", "content": final])
        }
        func send(_ order: [Int]) -> [LedgerCategory] {
            var m = messages
            for (slot, source) in zip(useMessages, order) {
                m[slot]["content"] = (m[slot]["content"] as! [[String: Any]]).map {
                    $0["type"] as? String == "thinking" ? thinking[source] : $0
                }
            }
            m.append(["role": "user", "content": "Next?"])
            _ = client.messages(
                ["model": "mimo-v2.5-pro", "max_tokens": 100, "system": "Be brief.", "tools": anthropicTools, "messages": m],
                headers: headers)
            return client.sim.lastVerdicts(tenant: client.key!).filter(\.toolCalls).map(\.category)
        }
        XCTAssertEqual(send([0, 1]), [.exact, .exact])
        XCTAssertEqual(send([1, 0]), [.wrong, .wrong])
    }
}
