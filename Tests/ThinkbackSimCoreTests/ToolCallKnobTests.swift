import XCTest

@testable import ThinkbackSimCore

/// `x-sim-tool-ids: kimi` and `x-sim-repeat-calls`: the two ways one conversation ends up with
/// look-alike tool-call messages.
final class ToolCallKnobTests: XCTestCase {
    /// Only `get_time`, so every call has the same name.
    var oneTool: [[String: Any]] { [weatherTools[1]] }

    func calls(_ response: SimResponse) -> [[String: Any]] {
        assistantMessage(response)["tool_calls"] as? [[String: Any]] ?? []
    }

    func ids(_ response: SimResponse) -> [String] { calls(response).map { $0["id"] as! String } }

    func testKimiIDsAreNumberedFromZeroInEveryAnswer() {
        let client = Client(sim: makeSim())
        let headers = [("x-sim-tool-ids", "kimi"), ("x-sim-tool-calls", "2")]
        let first = client.chat(
            ["model": "kimi-k2.6", "tools": oneTool, "messages": [["role": "user", "content": "Time in Tokyo?"]]],
            headers: headers)
        let second = client.chat(
            ["model": "kimi-k2.6", "tools": oneTool, "messages": [["role": "user", "content": "And in Lima?"]]],
            headers: headers)
        XCTAssertEqual(ids(first), ["functions.get_time:0", "functions.get_time:1"])
        XCTAssertEqual(ids(second), ids(first), "the same ids name other calls in the next answer")
        XCTAssertNotEqual(
            calls(first).map { ($0["function"] as! [String: Any])["arguments"] as! String },
            calls(second).map { ($0["function"] as! [String: Any])["arguments"] as! String })
    }

    func testKimiIDsComeInStreamsAndFromTheConfigToo() {
        let client = Client(sim: makeSim(SimConfig(toolIDs: .kimi)))
        let body: [String: Any] = [
            "model": "mimo-v2.5-pro", "tools": oneTool, "stream": true, "messages": [["role": "user", "content": "Time?"]],
        ]
        let text = bodyText(client.chat(body, headers: [("x-sim-tool-calls", "1")]))
        XCTAssertTrue(text.contains(#""id":"functions.get_time:0""#), text)
        XCTAssertFalse(text.contains(#""id":"call_"#))
    }

    func testKimiIDsChangeOnlyTheIDs() {
        let body = toolRequest([["role": "user", "content": "Weather?"]])
        var kimi = assistantMessage(Client(sim: makeSim()).chat(body, headers: [("x-sim-tool-ids", "kimi")]))
        var openAI = assistantMessage(Client(sim: makeSim()).chat(body, headers: [("x-sim-tool-ids", "openai")]))
        let kimiCalls = (kimi.removeValue(forKey: "tool_calls") as! [[String: Any]]).map { $0["function"] as! [String: String] }
        let openAICalls = (openAI.removeValue(forKey: "tool_calls") as! [[String: Any]]).map { $0["function"] as! [String: String] }
        XCTAssertEqual(kimiCalls, openAICalls)
        XCTAssertEqual(kimi as NSDictionary, openAI as NSDictionary)
    }

    func testAnthropicIDsStayAnthropic() {
        let client = Client(sim: makeSim())
        let r = client.messages(
            ["model": "mimo-v2.5-pro", "max_tokens": 100, "tools": anthropicTools,
             "messages": [["role": "user", "content": "Weather?"]]],
            headers: [("x-sim-tool-ids", "kimi")])
        let blocks = foundationJSON(r.body)["content"] as! [[String: Any]]
        let ids = blocks.compactMap { $0["type"] as? String == "tool_use" ? $0["id"] as? String : nil }
        XCTAssertFalse(ids.isEmpty)
        XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("toolu_") }, "\(ids)")
    }

    func testBadToolIDStyleIsAKnobError() {
        let r = Client(sim: makeSim()).chat(toolRequest([["role": "user", "content": "x"]]), headers: [("x-sim-tool-ids", "qwen")])
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(bodyText(r).contains("sim_knob_error"))
    }

    func testRepeatCallsMakesTheSameCallsInEveryRoundWithOtherReasoning() {
        let client = Client(sim: makeSim())
        var history: [[String: Any]] = []
        var rounds: [[String: Any]] = []
        for question in ["Weather?", "And now?", "Once more?"] {
            history.append(["role": "user", "content": question])
            let r = client.chat(toolRequest(history), headers: [("x-sim-repeat-calls", "1")])
            let message = assistantMessage(r)
            rounds.append(message)
            history.append(message)
            for call in message["tool_calls"] as! [[String: Any]] {
                history.append(["role": "tool", "tool_call_id": call["id"] as! String, "content": "ok \(rounds.count)"])
            }
            let answer = client.chat(toolRequest(history), headers: [("x-sim-repeat-calls", "1")])
            XCTAssertNil(assistantMessage(answer)["tool_calls"] as? [[String: Any]], "tool results get an answer")
            history.append(assistantMessage(answer))
        }
        let functions = rounds.map { ($0["tool_calls"] as! [[String: Any]]).map { $0["function"] as! [String: String] } }
        XCTAssertFalse(functions[0].isEmpty)
        XCTAssertEqual(functions[1], functions[0])
        XCTAssertEqual(functions[2], functions[0])
        XCTAssertTrue(rounds.allSatisfy { $0["content"] as? String == "" })
        let reasonings = rounds.map { $0["reasoning_content"] as! String }
        XCTAssertEqual(Set(reasonings).count, 3, "the reasoning still differs per answer")
        let ids = rounds.flatMap { ($0["tool_calls"] as! [[String: Any]]).map { $0["id"] as! String } }
        XCTAssertEqual(Set(ids).count, ids.count, "OpenAI-style ids stay unique")
    }

    func testRepeatCallsDependOnSeedAndToolsOnly() {
        func functions(seed: UInt64, tools: [[String: Any]], question: String) -> [[String: String]] {
            let r = Client(sim: makeSim(SimConfig(repeatCalls: true, seed: seed))).chat(
                ["model": "mimo-v2.5-pro", "tools": tools, "messages": [["role": "user", "content": question]]])
            return calls(r).map { $0["function"] as! [String: String] }
        }
        let base = functions(seed: 1, tools: weatherTools, question: "a")
        XCTAssertEqual(functions(seed: 1, tools: weatherTools, question: "something else entirely"), base)
        let others = (2...6).map { functions(seed: UInt64($0), tools: weatherTools, question: "a") }
        XCTAssertTrue(others.contains { $0 != base }, "another seed, other calls")
        XCTAssertNotEqual(functions(seed: 1, tools: oneTool, question: "a"), base)
    }

    func testRepeatCallsKeepDeterminism() {
        func run() -> [[UInt8]] {
            let client = Client(sim: makeSim(SimConfig(seed: 9)))
            return ["a", "b"].map {
                client.chat(toolRequest([["role": "user", "content": $0]], extra: ["stream": true]),
                            headers: [("x-sim-repeat-calls", "1"), ("x-sim-tool-ids", "kimi")]).body
            }
        }
        XCTAssertEqual(run(), run())
    }
}
