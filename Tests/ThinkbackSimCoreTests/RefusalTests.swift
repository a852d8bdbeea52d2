import XCTest

@testable import ThinkbackSimCore

/// The simulator rejects exactly what the providers reject (provider-protocol.md), with
/// their exact bodies.
final class RefusalTests: XCTestCase {
    func history(reasoning: Any?) -> [[String: Any]] { toolHistory(reasoning: reasoning) }

    func testMiMoRefusesMissingReasoningWithItsExactBody() {
        let client = Client(sim: makeSim())
        let r = client.chat(toolRequest(history(reasoning: nil)))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(
            bodyText(r),
            #"{"error":{"message":"Param Incorrect","param":"The reasoning_content in the thinking mode must be passed back to the API.","code":"400"}}"#
        )
        XCTAssertEqual(client.sim.verdictCount("refused_reasoning"), 1)
    }

    func testMiMoRefusesNullReasoning() {
        let r = Client(sim: makeSim()).chat(toolRequest(history(reasoning: NSNull())))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(bodyText(r), ProviderErrors.mimoReasoningRefusal)
    }

    func testDeepSeekFlavorRefusesWithItsWording() {
        let r = Client(sim: makeSim(SimConfig(flavor: .deepseek))).chat(toolRequest(history(reasoning: nil)))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(
            bodyText(r),
            #"{"error":{"message":"The `reasoning_content` in the thinking mode must be passed back to the API.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#
        )
    }

    func testKimiFlavorNamesTheMessageIndex() {
        let r = Client(sim: makeSim(SimConfig(flavor: .kimi))).chat(toolRequest(history(reasoning: nil)))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(
            bodyText(r),
            #"{"error":{"message":"thinking is enabled but reasoning_content is missing in assistant tool call message at index 1","type":"invalid_request_error"}}"#
        )
    }

    func testFlavorCanBeChosenPerRequest() {
        let r = Client(sim: makeSim()).chat(toolRequest(history(reasoning: nil)), headers: [("x-sim-flavor", "kimi")])
        XCTAssertTrue(bodyText(r).contains("at index 1"))
    }

    func testAlternateErrorShapes() {
        let mimo = Client(sim: makeSim()).chat(toolRequest(history(reasoning: nil)), headers: [("x-sim-error-variant", "alt")])
        XCTAssertEqual(bodyText(mimo), ProviderErrors.mimoReasoningRefusalAlt)
        XCTAssertTrue(bodyText(mimo).contains(#""type":"""#))
        let ds = Client(sim: makeSim(SimConfig(flavor: .deepseek))).chat(
            toolRequest(history(reasoning: nil)), headers: [("x-sim-error-variant", "alt")])
        XCTAssertTrue(bodyText(ds).contains(#""param":"""#))
        XCTAssertFalse(bodyText(ds).contains("`"))
    }

    func testDeepSeekRequiresReasoningOnEveryAssistantMessage() {
        let messages: [[String: Any]] = [
            ["role": "user", "content": "hi"],
            ["role": "assistant", "content": "hello"],
            ["role": "user", "content": "again"],
        ]
        let body: [String: Any] = ["model": "deepseek-v4-pro", "messages": messages]
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .deepseek))).chat(body).status, 400)
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .mimo))).chat(body).status, 200)
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .kimi))).chat(body).status, 200)
        var withReasoning = messages
        withReasoning[1]["reasoning_content"] = " "
        XCTAssertEqual(
            Client(sim: makeSim(SimConfig(flavor: .deepseek))).chat(["model": "deepseek-v4-pro", "messages": withReasoning])
                .status, 200)
    }

    func testNoRefusalWhenThinkingIsOff() {
        let client = Client(sim: makeSim())
        XCTAssertEqual(client.chat(toolRequest(history(reasoning: nil), model: "mimo-v2-flash")).status, 200)
        XCTAssertEqual(
            client.chat(toolRequest(history(reasoning: nil), extra: ["thinking": ["type": "disabled"]])).status, 200)
    }

    func testThinkingTypeEnabledTurnsTheRuleOnForFlash() {
        let r = Client(sim: makeSim()).chat(
            toolRequest(history(reasoning: nil), model: "mimo-v2-flash", extra: ["thinking": ["type": "enabled"]]))
        XCTAssertEqual(r.status, 400)
    }

    func testModelDefaultsDecideThinking() {
        for model in ["mimo-v2.5-pro", "mimo-v2.5", "mimo-v2-pro", "mimo-v2-omni", "deepseek-v4-flash", "kimi-k2.6", "MaaS_Mimo_V2.5_20260423"] {
            XCTAssertEqual(Client(sim: makeSim()).chat(toolRequest(history(reasoning: nil), model: model)).status, 400, model)
        }
        XCTAssertEqual(Client(sim: makeSim()).chat(toolRequest(history(reasoning: nil), model: "mimo-v2-flash")).status, 200)
    }

    func testKimiThinkingModelsThinkEvenWhenDisabled() {
        let r = Client(sim: makeSim(SimConfig(flavor: .kimi))).chat(
            toolRequest(history(reasoning: nil), model: "kimi-k2-thinking", extra: ["thinking": ["type": "disabled"]]))
        XCTAssertEqual(r.status, 400)
    }

    func testEmptyPlaceholderAcceptedByMiMoRefusedByKimi() {
        XCTAssertEqual(Client(sim: makeSim()).chat(toolRequest(history(reasoning: ""))).status, 200)
        let kimi = Client(sim: makeSim(SimConfig(flavor: .kimi)))
        let refused = kimi.chat(toolRequest(history(reasoning: ""), model: "kimi-k2.6"))
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(bodyText(refused).contains("reasoning_content is missing"))
        XCTAssertEqual(kimi.sim.verdictCount("refused_empty"), 1)
        XCTAssertEqual(kimi.chat(toolRequest(history(reasoning: " "), model: "kimi-k2.6")).status, 200)
    }

    func testEmptyPlaceholderSwitchWorksOnAnyFlavor() {
        let sim = makeSim(SimConfig(flavor: .mimo, emptyPlaceholderAccepted: false))
        XCTAssertEqual(Client(sim: sim).chat(toolRequest(history(reasoning: ""))).status, 400)
        XCTAssertEqual(
            Client(sim: makeSim()).chat(toolRequest(history(reasoning: "")), headers: [("x-sim-empty-placeholder", "refuse")])
                .status, 400)
        XCTAssertEqual(
            Client(sim: makeSim(SimConfig(flavor: .kimi))).chat(
                toolRequest(history(reasoning: "")), headers: [("x-sim-empty-placeholder", "accept")]
            ).status, 200)
    }

    func testRefusedPlaceholdersGetTheMustBePassedBackRefusal() {
        let client = Client(sim: makeSim(SimConfig(placeholdersAccepted: false)))
        for placeholder in ["", " ", "\n\t "] {
            let r = client.chat(toolRequest(history(reasoning: placeholder)))
            XCTAssertEqual(r.status, 400, "placeholder \(placeholder.debugDescription)")
            XCTAssertEqual(bodyText(r), ProviderErrors.mimoReasoningRefusal)
        }
        XCTAssertEqual(client.sim.verdictCount("refused_placeholder"), 3)
        XCTAssertEqual(client.chat(toolRequest(history(reasoning: "real thoughts"))).status, 200)
        let perRequest = Client(sim: makeSim()).chat(
            toolRequest(history(reasoning: " ")), headers: [("x-sim-placeholders", "refuse")])
        XCTAssertEqual(perRequest.status, 400)
    }

    func testOrphanToolMessageIsRefusedEvenWithThinkingOff() {
        // What a proxy that strips tool_calls but keeps the tool messages sends.
        let messages: [[String: Any]] = [
            ["role": "user", "content": "What time is it?"],
            ["role": "assistant", "content": "", "reasoning_content": "r"],
            ["role": "tool", "tool_call_id": "call_0123456789abcdef01234567", "content": "12:00"],
        ]
        for model in ["mimo-v2.5-pro", "mimo-v2-flash"] {
            let client = Client(sim: makeSim())
            let r = client.chat(toolRequest(messages, model: model))
            XCTAssertEqual(r.status, 400)
            let error = foundationJSON(r.body)["error"] as? [String: Any]
            XCTAssertEqual(
                error?["message"] as? String,
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.")
            XCTAssertEqual(client.sim.verdictCount("refused_orphan_tool"), 1)
        }
    }

    func testToolMessageWithUnknownIDIsRefused() {
        var messages = history(reasoning: "r")
        messages[2]["tool_call_id"] = "call_ffffffffffffffffffffffff"
        XCTAssertEqual(Client(sim: makeSim()).chat(toolRequest(messages)).status, 400)
    }

    func testMalformedJSONIsRefusedWithItsOffset() {
        let client = Client(sim: makeSim())
        let r = client.post("/v1/chat/completions", raw: Array(#"{"model":"mimo-v2.5-pro","messages":[}"#.utf8))
        XCTAssertEqual(r.status, 400)
        let error = foundationJSON(r.body)["error"] as? [String: Any]
        XCTAssertEqual(error?["message"] as? String, "Invalid JSON body: unexpected character at byte 37")
        XCTAssertEqual(client.sim.verdictCount("refused_malformed_json"), 1)
        let anthropic = client.post("/anthropic/v1/messages", raw: Array("not json".utf8))
        XCTAssertEqual(anthropic.status, 400)
        XCTAssertEqual(foundationJSON(anthropic.body)["type"] as? String, "error")
    }

    func testInvalidUTF8IsMalformed() {
        let r = Client(sim: makeSim()).post(
            "/v1/chat/completions", raw: Array(#"{"model":"m","messages":[{"role":"user","content":""#.utf8) + [0xFF] + Array(#""}]}"#.utf8))
        XCTAssertEqual(r.status, 400)
    }

    func testMissingModelOrMessagesIsRefused() {
        let client = Client(sim: makeSim())
        XCTAssertEqual(client.chat(["messages": [["role": "user", "content": "x"]]]).status, 400)
        XCTAssertEqual(client.chat(["model": "mimo-v2.5-pro", "messages": []]).status, 400)
        XCTAssertEqual(client.sim.verdictCount("refused_invalid"), 2)
    }

    func testMiMoHygieneRefusesNullContentAndListToolContent() {
        var nullContent = history(reasoning: "r")
        nullContent[1]["content"] = NSNull()
        let client = Client(sim: makeSim())
        let r1 = client.chat(toolRequest(nullContent))
        XCTAssertEqual(r1.status, 400)
        XCTAssertFalse(bodyText(r1).contains("passed back"), "must not look like the reasoning refusal")
        var listContent = history(reasoning: "r")
        listContent[2]["content"] = [["type": "text", "text": "12:00"]]
        XCTAssertEqual(client.chat(toolRequest(listContent)).status, 400)
        XCTAssertEqual(client.sim.verdictCount("refused_hygiene"), 2)
        // Other flavors, or hygiene off, accept both.
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .deepseek))).chat(toolRequest(nullContent)).status, 200)
        XCTAssertEqual(Client(sim: makeSim()).chat(toolRequest(listContent), headers: [("x-sim-hygiene", "off")]).status, 200)
    }

    func testDeepSeekAndKimiRefuseForcedToolChoiceInThinkingMode() {
        let body = toolRequest([["role": "user", "content": "hi"]], extra: ["tool_choice": "required"])
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .deepseek))).chat(body).status, 400)
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .kimi))).chat(body).status, 400)
        XCTAssertEqual(Client(sim: makeSim()).chat(body).status, 200)
    }

    func testKimiRefusesThinkingWithReasoningEffort() {
        let body = toolRequest(
            [["role": "user", "content": "hi"]], model: "kimi-k2.6",
            extra: ["thinking": ["type": "enabled"], "reasoning_effort": "high"])
        XCTAssertEqual(Client(sim: makeSim(SimConfig(flavor: .kimi))).chat(body).status, 400)
    }

    func testMissingCredentialsGet401InTheRouteShape() {
        var client = Client(sim: makeSim())
        client.key = nil
        let openAI = client.chat(toolRequest([["role": "user", "content": "hi"]]))
        XCTAssertEqual(openAI.status, 401)
        XCTAssertNotNil(foundationJSON(openAI.body)["error"])
        let anthropic = client.messages(["model": "mimo-v2.5-pro", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]]])
        XCTAssertEqual(anthropic.status, 401)
        XCTAssertEqual(foundationJSON(anthropic.body)["type"] as? String, "error")
        XCTAssertEqual(client.sim.verdictCount("unauthorized"), 2)
        let emptyBearer = client.sim.handle(
            SimRequest(method: "POST", path: "/v1/chat/completions", headers: [("Authorization", "Bearer ")], body: []))
        XCTAssertEqual(emptyBearer.status, 401)
    }

    func testApiKeyAndXApiKeyHeadersAuthenticate() {
        var client = Client(sim: makeSim())
        client.authHeader = "api-key"
        XCTAssertEqual(client.chat(["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "hi"]]]).status, 200)
        client.authHeader = "x-api-key"
        XCTAssertEqual(
            client.messages(["model": "mimo-v2.5-pro", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]]])
                .status, 200)
        // x-api-key is an Anthropic header only.
        XCTAssertEqual(client.chat(["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "hi"]]]).status, 401)
    }

    func testStreamRequestRefusalCanComeFramedAsSSE() {
        let client = Client(sim: makeSim())
        let body = toolRequest(history(reasoning: nil), extra: ["stream": true])
        let plain = client.chat(body)
        XCTAssertEqual(bodyText(plain), ProviderErrors.mimoReasoningRefusal)
        let framed = client.chat(body, headers: [("x-sim-sse-errors", "1")])
        XCTAssertEqual(framed.status, 400)
        XCTAssertEqual(bodyText(framed), "data: \(ProviderErrors.mimoReasoningRefusal)\n\n")
        XCTAssertTrue(framed.headers.contains { $0.0 == "Content-Type" && $0.1 == "text/event-stream" })
        // Not on a non-stream request.
        var nonStream = body
        nonStream["stream"] = false
        XCTAssertEqual(bodyText(client.chat(nonStream, headers: [("x-sim-sse-errors", "1")])), ProviderErrors.mimoReasoningRefusal)
    }
}
