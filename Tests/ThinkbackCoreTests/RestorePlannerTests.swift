import XCTest
@testable import ThinkbackCore

final class RestorePlannerTests: XCTestCase {
    let builder = KeyBuilder(tenant: TenantID.single)
    let stored = StoredReasoning(text: Array("思考 \"x\"".utf8), format: .reasoningContent, storedAtMilliseconds: 1)

    private func turn(_ reasoning: ReasoningPresence, ids: [String] = ["call_1"]) -> AssistantTurn {
        var hasher = ContentKeyHasher(content: Array("".utf8))
        for _ in ids { hasher.addToolCall(name: Array("get".utf8), arguments: Array("{}".utf8)) }
        return AssistantTurn(messageIndex: 1, reasoning: reasoning, toolCallIDs: ids.map { Array($0.utf8) }, contentKey: hasher)
    }

    private func policy(_ s: MissStrategy, scope: UpstreamPreset.RestoreScope = .toolCalls, thinking: Bool = true,
                        refused: Bool = false) -> RestorePolicy {
        RestorePolicy(scope: scope, strategy: s, placeholder: [32], thinking: thinking, placeholdersRefused: refused)
    }

    func testKeysAreEveryToolCallIdThenTheContentKey() {
        let keys = RestorePlanner.keys(for: turn(.absent, ids: ["call_1", "call_2"]), builder: builder)
        XCTAssertEqual(keys.map(\.kind), [.toolCall, .toolCall, .content])
    }

    func testRestoresFromTheFirstHit() {
        let t = turn(.null)
        let keys = RestorePlanner.keys(for: t, builder: builder)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: [nil, stored], policy: policy(.auto)),
                       .restore(stored, byToolCallID: false))
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: [stored, nil], policy: policy(.auto)),
                       .restore(stored, byToolCallID: true))
    }

    func testNeverTouchesAClientsNonEmptyReasoning() {
        let t = turn(.present)
        XCTAssertEqual(RestorePlanner.decide(t, keys: [], found: [], policy: policy(.reject)), .untouched)
    }

    func testMissesFollowTheStrategy() {
        let t = turn(.empty)
        let keys = RestorePlanner.keys(for: t, builder: builder)
        let misses = [StoredReasoning?](repeating: nil, count: keys.count)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: misses, policy: policy(.auto)), .placeholder)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: misses, policy: policy(.auto, refused: true)), .textualize)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: misses, policy: policy(.strip)), .strip)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: misses, policy: policy(.textualize)), .textualize)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: misses, policy: policy(.passthrough)), .untouched)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: misses, policy: policy(.reject)), .reject)
    }

    func testMissWithoutThinkingLeavesTheMessageAlone() {
        let t = turn(.absent)
        let keys = RestorePlanner.keys(for: t, builder: builder)
        XCTAssertEqual(RestorePlanner.decide(t, keys: keys, found: [nil, nil], policy: policy(.reject, thinking: false)), .untouched)
    }

    func testScopeAllGivesPlainMessagesOnlyThePlaceholder() {
        let plain = turn(.absent, ids: [])
        XCTAssertEqual(RestorePlanner.decide(plain, keys: [], found: [], policy: policy(.reject)), .untouched,
                       "tool-calls scope leaves plain messages alone")
        let keys = RestorePlanner.keys(for: plain, builder: builder)
        XCTAssertEqual(RestorePlanner.decide(plain, keys: keys, found: keys.map { _ in nil }, policy: policy(.reject, scope: .all)),
                       .placeholder)
    }
}

final class RefusalRecognizerTests: XCTestCase {
    private func refused(_ s: String, status: Int = 400) -> Bool { RefusalRecognizer.isRefusal(status: status, body: Array(s.utf8)) }

    func testRecognisesEveryDocumentedWording() {
        XCTAssertTrue(refused(#"{"error":{"message":"Param Incorrect","param":"The reasoning_content in the thinking mode must be passed back to the API.","code":"400"}}"#))
        XCTAssertTrue(refused(#"{"error":{"code":"400","type":"","param":"The reasoning_content in the thinking mode must be passed back to the API.","message":"Param Incorrect"}}"#))
        XCTAssertTrue(refused(#"{"error":{"message":"The `reasoning_content` in the thinking mode must be passed back to the API.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#))
        XCTAssertTrue(refused("{\"error\":{\"message\":\"Missing `reasoning_content` field in the assistant message at message index 3. …\"}}"))
        XCTAssertTrue(refused(#"{"error":{"message":"thinking is enabled but reasoning_content is missing in assistant tool call message at index 2","type":"invalid_request_error"}}"#))
        XCTAssertTrue(refused(#"{"type":"error","error":{"type":"invalid_request_error","message":"The `content[].thinking` in the thinking mode must be passed back to the API."}}"#))
        XCTAssertTrue(refused("data: {\"error\":{\"message\":\"Param Incorrect\",\"param\":\"The reasoning_content in the thinking mode must be passed back to the API.\",\"code\":\"400\"}}\n\n"))
    }

    func testIgnoresOtherErrors() {
        XCTAssertFalse(refused(#"{"error":{"message":"Param Incorrect","param":"messages","code":"400"}}"#))
        XCTAssertFalse(refused(#"{"error":{"message":"The reasoning_content in the thinking mode must be passed back to the API."}}"#, status: 500))
        XCTAssertFalse(refused(#"{"error":{"message":"tool_choice must be auto in thinking mode"}}"#))
    }
}

final class PlaceholderRefusalMemoryTests: XCTestCase {
    func testRemembersPerUpstreamAndModelAndExpires() {
        var memory = PlaceholderRefusalMemory(lifetimeMs: 1000)
        memory.remember(upstream: "kimi", model: "kimi-k2.6", nowMs: 10)
        XCTAssertTrue(memory.refusesPlaceholders(upstream: "kimi", model: "kimi-k2.6", nowMs: 500))
        XCTAssertFalse(memory.refusesPlaceholders(upstream: "kimi", model: "kimi-k2.5", nowMs: 500))
        XCTAssertFalse(memory.refusesPlaceholders(upstream: "mimo", model: "kimi-k2.6", nowMs: 500))
        XCTAssertFalse(memory.refusesPlaceholders(upstream: "kimi", model: "kimi-k2.6", nowMs: 1010))
    }
}

final class StateDirectoryTests: XCTestCase {
    func testResolutionOrder() {
        XCTAssertEqual(StateDirectory.resolve(flag: "/x", environment: ["STATE_DIRECTORY": "/s"]), "/x")
        XCTAssertEqual(StateDirectory.resolve(flag: nil, environment: ["STATE_DIRECTORY": "/s:/t", "HOME": "/h"]), "/s")
        XCTAssertEqual(StateDirectory.resolve(flag: nil, environment: ["XDG_STATE_HOME": "/xdg", "HOME": "/h"]), "/xdg/thinkback")
        XCTAssertEqual(StateDirectory.resolve(flag: nil, environment: ["HOME": "/h"]), "/h/.local/state/thinkback")
    }
}
