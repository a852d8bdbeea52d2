import XCTest

@testable import ThinkbackSimCore

/// The Anthropic-compatible side: blocks, refusals, multi-turn histories.
final class AnthropicTests: XCTestCase {
    func request(_ messages: [[String: Any]], extra: [String: Any] = [:]) -> [String: Any] {
        var body: [String: Any] = ["model": "mimo-v2.5-pro", "max_tokens": 1024, "messages": messages, "tools": anthropicTools]
        for (k, v) in extra { body[k] = v }
        return body
    }

    func testToolQuestionGetsThinkingWithSignatureAndToolUse() {
        let r = Client(sim: makeSim()).messages(request([["role": "user", "content": "Weather?"]]))
        XCTAssertEqual(r.status, 200, bodyText(r))
        let obj = foundationJSON(r.body)
        XCTAssertEqual(obj["type"] as? String, "message")
        XCTAssertEqual(obj["stop_reason"] as? String, "tool_use")
        let blocks = obj["content"] as! [[String: Any]]
        XCTAssertEqual(blocks.first?["type"] as? String, "thinking")
        XCTAssertEqual(blocks.first?["signature"] as? String, "")
        let uses = blocks.filter { $0["type"] as? String == "tool_use" }
        XCTAssertFalse(uses.isEmpty)
        for use in uses {
            XCTAssertTrue((use["id"] as! String).hasPrefix("toolu_"))
            XCTAssertNotNil(use["input"] as? [String: Any])
        }
    }

    func testCloudswayBlockOrderKnob() {
        let r = Client(sim: makeSim()).messages(
            request([["role": "user", "content": "hi"]], extra: ["tools": []]), headers: [("x-sim-block-order", "text-first")])
        let text = bodyText(r)
        XCTAssertTrue(text.contains(#"{"type":"text","text":"#))
        XCTAssertTrue(text.contains(#"{"type":"thinking","signature":"","thinking":"#))
        let blocks = foundationJSON(r.body)["content"] as! [[String: Any]]
        XCTAssertEqual(blocks.map { $0["type"] as! String }, ["text", "thinking"])
    }

    func testDeepSeekSignsThinkingWithAUUID() {
        let r = Client(sim: makeSim(SimConfig(flavor: .deepseek))).messages(request([["role": "user", "content": "hi"]]))
        let blocks = foundationJSON(r.body)["content"] as! [[String: Any]]
        XCTAssertEqual((blocks[0]["signature"] as! String).count, 36)
    }

    /// Runs question → tool_use → tool_result → answer, keeping every block.
    func round(_ client: Client, history: [[String: Any]], keepThinking: Bool = true) -> [[String: Any]] {
        var messages = history + [["role": "user", "content": "Weather?"]]
        let first = client.messages(request(messages))
        XCTAssertEqual(first.status, 200, bodyText(first))
        var blocks = foundationJSON(first.body)["content"] as! [[String: Any]]
        if !keepThinking { blocks.removeAll { $0["type"] as? String == "thinking" } }
        messages.append(["role": "assistant", "content": blocks])
        let results = blocks.filter { $0["type"] as? String == "tool_use" }.map {
            ["type": "tool_result", "tool_use_id": $0["id"] as! String, "content": "Sunny"] as [String: Any]
        }
        messages.append(["role": "user", "content": results])
        return messages
    }

    func testAcceptsHistoryWithThinkingBlocksKept() {
        let client = Client(sim: makeSim())
        var messages = round(client, history: [])
        let answer = client.messages(request(messages))
        XCTAssertEqual(answer.status, 200, bodyText(answer))
        XCTAssertEqual(foundationJSON(answer.body)["stop_reason"] as? String, "end_turn")
        messages.append(["role": "assistant", "content": foundationJSON(answer.body)["content"] as! [[String: Any]]])
        messages = round(client, history: messages)
        XCTAssertEqual(client.messages(request(messages)).status, 200)
        XCTAssertEqual(client.sim.ledgerTotals[.exact], 1 + 1 + 2)
    }

    func testRefusesToolUseWithoutThinkingBlock() {
        let client = Client(sim: makeSim())
        let messages = round(client, history: [], keepThinking: false)
        let r = client.messages(request(messages))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(
            bodyText(r),
            #"{"type":"error","error":{"type":"invalid_request_error","message":"The `content[].thinking` in the thinking mode must be passed back to the API."}}"#
        )
        XCTAssertEqual(client.sim.ledgerTotals[.missing], 1)
        // Thinking disabled: accepted.
        XCTAssertEqual(client.messages(request(messages, extra: ["thinking": ["type": "disabled"]])).status, 200)
    }

    func testEmptyThinkingBlockFollowsThePlaceholderSwitches() {
        let client = Client(sim: makeSim())
        var messages = round(client, history: [])
        var blocks = messages[1]["content"] as! [[String: Any]]
        blocks[0]["thinking"] = ""
        messages[1]["content"] = blocks
        XCTAssertEqual(client.messages(request(messages)).status, 200)
        XCTAssertEqual(client.messages(request(messages), headers: [("x-sim-empty-placeholder", "refuse")]).status, 400)
        blocks[0]["thinking"] = " "
        messages[1]["content"] = blocks
        XCTAssertEqual(client.messages(request(messages), headers: [("x-sim-empty-placeholder", "refuse")]).status, 200)
        XCTAssertEqual(client.messages(request(messages), headers: [("x-sim-placeholders", "refuse")]).status, 400)
    }

    func testRefusesToolResultAnsweringNoToolUse() {
        let client = Client(sim: makeSim())
        let messages: [[String: Any]] = [
            ["role": "user", "content": "hi"],
            ["role": "assistant", "content": [["type": "text", "text": "hello"]]],
            ["role": "user", "content": [["type": "tool_result", "tool_use_id": "toolu_x", "content": "r"]]],
        ]
        let r = client.messages(request(messages))
        XCTAssertEqual(r.status, 400)
        let error = foundationJSON(r.body)["error"] as? [String: Any]
        XCTAssertTrue((error?["message"] as? String ?? "").contains("unexpected `tool_use_id` found in `tool_result` blocks: toolu_x"))
    }

    func testThinkingDefaultsAndThinkingTypeApplyToAnthropicRequests() {
        let client = Client(sim: makeSim())
        let messages = round(client, history: [], keepThinking: false)
        var flash = request(messages)
        flash["model"] = "mimo-v2-flash"
        XCTAssertEqual(client.messages(flash).status, 200)
        flash["thinking"] = ["type": "enabled", "budget_tokens": 1024]
        XCTAssertEqual(client.messages(flash).status, 400)
        let answer = client.messages(["model": "mimo-v2-flash", "max_tokens": 9, "messages": [["role": "user", "content": "x"]]])
        let blocks = foundationJSON(answer.body)["content"] as! [[String: Any]]
        XCTAssertEqual(blocks.map { $0["type"] as! String }, ["text"], "no thinking block with thinking off")
    }

    func testRoutesWithoutAnthropicPrefix() {
        let client = Client(sim: makeSim())
        let r = client.post("/v1/messages", raw: encode(request([["role": "user", "content": "hi"]])))
        XCTAssertEqual(r.status, 200)
    }
}
