import XCTest

@testable import ThinkbackSimCore

/// The simulator accepts the correct multi-turn histories a faithful client builds from its
/// own responses, and its scripted model behaves as the issue describes.
final class ConversationTests: XCTestCase {
    func testToolQuestionGetsReasoningAndOneOrTwoParallelCalls() {
        let r = Client(sim: makeSim()).chat(toolRequest([["role": "user", "content": "Weather in Beijing?"]]))
        XCTAssertEqual(r.status, 200)
        let obj = foundationJSON(r.body)
        let choice = (obj["choices"] as! [[String: Any]])[0]
        XCTAssertEqual(choice["finish_reason"] as? String, "tool_calls")
        let message = choice["message"] as! [String: Any]
        XCTAssertEqual(message["content"] as? String, "")
        let reasoning = message["reasoning_content"] as! String
        for needle in ["思考", "🤔", "\"", "\\", "\n"] { XCTAssertTrue(reasoning.contains(needle), needle) }
        let calls = message["tool_calls"] as! [[String: Any]]
        XCTAssertTrue((1...2).contains(calls.count))
        for call in calls {
            let id = call["id"] as! String
            XCTAssertTrue(id.hasPrefix("call_"))
            XCTAssertEqual(id.count, 29)
            XCTAssertTrue(id.dropFirst(5).allSatisfy { "0123456789abcdef".contains($0) })
            XCTAssertEqual(call["type"] as? String, "function")
            let function = call["function"] as! [String: Any]
            XCTAssertTrue(["get_current_weather", "get_time"].contains(function["name"] as! String))
            let args = foundationJSON(function["arguments"] as! String)
            XCTAssertFalse(args.isEmpty, "arguments are filled from the schema")
        }
        let usage = obj["usage"] as! [String: Any]
        XCTAssertEqual(
            usage["total_tokens"] as? Int, (usage["prompt_tokens"] as! Int) + (usage["completion_tokens"] as! Int))
        XCTAssertNotNil((usage["completion_tokens_details"] as? [String: Any])?["reasoning_tokens"])
    }

    func testToolCallCountKnob() {
        for n in [0, 1, 2] {
            let r = Client(sim: makeSim()).chat(
                toolRequest([["role": "user", "content": "x"]]), headers: [("x-sim-tool-calls", String(n))])
            let calls = assistantMessage(r)["tool_calls"] as? [[String: Any]] ?? []
            XCTAssertEqual(calls.count, n)
        }
    }

    func testAfterToolResultsTheModelAnswers() {
        let history = runToolRound(Client(sim: makeSim()), history: [], question: "Weather?")
        let last = history.last!
        XCTAssertTrue(last["tool_calls"] is NSNull)
        XCTAssertFalse((last["content"] as! String).isEmpty)
        XCTAssertFalse((last["reasoning_content"] as! String).isEmpty)
    }

    func testAcceptsCorrectMultiTurnHistoryBuiltFromItsOwnResponses() {
        for flavor in SimFlavor.allCases {
            let client = Client(sim: makeSim(SimConfig(flavor: flavor, placeholdersAccepted: false)))
            var history: [[String: Any]] = [["role": "system", "content": "You are a test."]]
            for turn in 1...3 {
                history = runToolRound(client, history: history, question: "Question \(turn) 北京?")
            }
            XCTAssertEqual(client.sim.verdictCount("accepted"), 6, "\(flavor)")
            XCTAssertEqual(client.sim.ledgerTotals[.exact], 0 + 1 + 1 + 2 + 2 + 3, "\(flavor)")
            XCTAssertEqual(client.sim.ledgerTotals.total, client.sim.ledgerTotals[.exact])
        }
    }

    func testThinkingOffGivesNoReasoningMember() {
        let r = Client(sim: makeSim()).chat(["model": "mimo-v2-flash", "messages": [["role": "user", "content": "hi"]]])
        let message = assistantMessage(r)
        XCTAssertNil(message["reasoning_content"])
        XCTAssertFalse((message["content"] as! String).isEmpty)
    }

    func testResponseIDsAndReasoningAreUniquePerResponse() {
        let client = Client(sim: makeSim())
        let body: [String: Any] = ["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "same"]]]
        let a = foundationJSON(client.chat(body).body)
        let b = foundationJSON(client.chat(body).body)
        XCTAssertNotEqual(a["id"] as? String, b["id"] as? String)
        let ra = ((a["choices"] as! [[String: Any]])[0]["message"] as! [String: Any])["reasoning_content"] as! String
        let rb = ((b["choices"] as! [[String: Any]])[0]["message"] as! [String: Any])["reasoning_content"] as! String
        XCTAssertNotEqual(ra, rb)
    }

    func testNonStreamBodyHasMiMosKeyOrder() {
        let text = bodyText(Client(sim: makeSim()).chat(["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "hi"]]]))
        XCTAssertTrue(text.hasPrefix(#"{"id":""#))
        XCTAssertTrue(text.contains(#""choices":[{"finish_reason":"stop","index":0,"message":{"content":""#))
        XCTAssertTrue(text.contains(#""role":"assistant","tool_calls":null,"reasoning_content":""#))
        XCTAssertTrue(text.contains(#""created":1781233054,"model":"mimo-v2.5-pro","object":"chat.completion","usage":{"completion_tokens":"#))
        XCTAssertTrue(text.hasSuffix(#""prompt_tokens_details":{}}}"#))
    }

    func testToolChoiceNoneAnswersDirectly() {
        let r = Client(sim: makeSim()).chat(toolRequest([["role": "user", "content": "x"]], extra: ["tool_choice": "none"]))
        XCTAssertTrue(assistantMessage(r)["tool_calls"] is NSNull)
    }

    func testLeakedToolCallKnobWritesQwenXMLInsideReasoning() {
        let r = Client(sim: makeSim()).chat(
            toolRequest([["role": "user", "content": "x"]]), headers: [("x-sim-leak-tool-call", "1"), ("x-sim-tool-calls", "1")])
        let message = assistantMessage(r)
        XCTAssertTrue(message["tool_calls"] is NSNull)
        let reasoning = message["reasoning_content"] as! String
        XCTAssertTrue(reasoning.contains("<tool_call>\n<function="))
        XCTAssertTrue(reasoning.contains("</function>\n</tool_call>"))
    }
}
