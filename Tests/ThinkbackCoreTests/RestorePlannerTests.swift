import XCTest
@testable import ThinkbackCore

final class RestorePlannerTests: XCTestCase {
    let builder = KeyBuilder(tenant: TenantID.single)
    let stored = StoredReasoning(text: Array("思考 \"x\"".utf8), format: .reasoningContent, storedAtMilliseconds: 1)

    private func turn(_ reasoning: ReasoningPresence, ids: [String] = ["call_1"], arguments: String = "{}",
                      at index: Int = 1, history: SHA256Digest = SHA256.hash(Array("h".utf8))) -> AssistantTurn {
        var hasher = ContentKeyHasher(content: Array("".utf8))
        for _ in ids { hasher.addToolCall(name: Array("get".utf8), arguments: Array(arguments.utf8)) }
        return AssistantTurn(messageIndex: index, reasoning: reasoning, toolCallIDs: ids.map { Array($0.utf8) },
                             content: hasher, history: history)
    }

    private func keys(_ t: AssistantTurn, scope: UpstreamPreset.RestoreScope = .toolCalls) -> [CacheKey] {
        RestorePlanner.keys(for: [t], scope: scope, builder: builder)[0] ?? []
    }

    private func policy(_ s: MissStrategy, scope: UpstreamPreset.RestoreScope = .toolCalls, thinking: Bool = true,
                        refused: Bool = false) -> RestorePolicy {
        RestorePolicy(scope: scope, strategy: s, placeholder: [32], thinking: thinking, placeholdersRefused: refused)
    }

    func testKeysAreThePlaceThenEveryIdWithTheContentThenTheContent() {
        XCTAssertEqual(keys(turn(.absent, ids: ["call_1", "call_2"])).map(\.kind), [.context, .toolCallContent, .toolCallContent, .content])
    }

    func testCaptureKeysAreTheKeysARequestLooksUp() {
        let t = turn(.absent, ids: ["call_1", "call_2"])
        var hasher = ContentKeyHasher(content: Array("".utf8))
        for _ in 0 ..< 2 { hasher.addToolCall(name: Array("get".utf8), arguments: Array("{}".utf8)) }
        let captured = RestorePlanner.captureKeys(history: t.history, content: hasher, toolCallIDs: t.toolCallIDs, builder: builder)
        XCTAssertEqual(captured, keys(t))
    }

    func testTwoIdenticalMessagesInOneHistoryAreKnownOnlyByTheirPlace() {
        // The same call in two rounds, ids renumbered by the client: only the place tells them apart.
        let first = turn(.absent, ids: ["tool-1"], at: 1, history: SHA256.hash(Array("before first".utf8)))
        let second = turn(.absent, ids: ["tool-2"], at: 3, history: SHA256.hash(Array("before second".utf8)))
        let both = RestorePlanner.keys(for: [first, second], scope: .toolCalls, builder: builder)
        XCTAssertEqual(both[0]?.map(\.kind), [.context, .toolCallContent], "no content key: the other message shares it")
        XCTAssertEqual(both[1]?.map(\.kind), [.context, .toolCallContent])
        XCTAssertNotEqual(both[0]?[0], both[1]?[0])
        // Kimi: the same id for the same call in two rounds — the id says nothing either.
        let kimiA = turn(.absent, ids: ["functions.get:0"], at: 1, history: SHA256.hash(Array("a".utf8)))
        let kimiB = turn(.absent, ids: ["functions.get:0"], at: 3, history: SHA256.hash(Array("b".utf8)))
        let kimi = RestorePlanner.keys(for: [kimiA, kimiB], scope: .toolCalls, builder: builder)
        XCTAssertEqual(kimi[0]?.map(\.kind), [.context])
        XCTAssertEqual(kimi[1]?.map(\.kind), [.context])
        // A reused id with other arguments is another key: both keep theirs.
        let other = turn(.absent, ids: ["functions.get:0"], arguments: #"{"x":1}"#, at: 3)
        let mixed = RestorePlanner.keys(for: [kimiA, other], scope: .toolCalls, builder: builder)
        XCTAssertEqual(mixed[0]?.map(\.kind), [.context, .toolCallContent, .content])
        XCTAssertNotEqual(mixed[0]?[1], mixed[1]?[1])
    }

    func testOnlyTurnsInScopeGetKeysButAllCountForTheirLookAlikes() {
        let kept = turn(.present, ids: ["call_1"], at: 1, history: SHA256.hash(Array("a".utf8)))
        let dropped = turn(.absent, ids: ["call_2"], at: 3, history: SHA256.hash(Array("b".utf8)))
        let result = RestorePlanner.keys(for: [kept, dropped], scope: .toolCalls, builder: builder)
        XCTAssertNil(result[0], "the client kept its reasoning")
        XCTAssertEqual(result[1]?.map(\.kind), [.context, .toolCallContent], "its look-alike still takes the content key away")
    }

    func testRestoresFromTheFirstHitAndSkipsAmbiguousKeys() {
        let t = turn(.null)
        let k = keys(t)
        let ambiguous = StoredReasoning.ambiguityMarker(storedAtMilliseconds: 1)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: [nil, nil, stored], policy: policy(.auto)), .restore(stored, via: .content))
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: [stored, nil, nil], policy: policy(.auto)), .restore(stored, via: .context))
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: [ambiguous, stored, nil], policy: policy(.auto)),
                       .restore(stored, via: .toolCallContent))
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: [nil, ambiguous, ambiguous], policy: policy(.auto)), .placeholder,
                       "an ambiguous key is a miss, never either value")
    }

    func testNeverTouchesAClientsNonEmptyReasoning() {
        let t = turn(.present)
        XCTAssertEqual(RestorePlanner.decide(t, keys: [], found: [], policy: policy(.reject)), .untouched)
    }

    func testMissesFollowTheStrategy() {
        let t = turn(.empty)
        let k = keys(t)
        let misses = [StoredReasoning?](repeating: nil, count: k.count)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: misses, policy: policy(.auto)), .placeholder)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: misses, policy: policy(.auto, refused: true)), .textualize)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: misses, policy: policy(.strip)), .strip)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: misses, policy: policy(.textualize)), .textualize)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: misses, policy: policy(.passthrough)), .untouched)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: misses, policy: policy(.reject)), .reject)
    }

    func testMissWithoutThinkingLeavesTheMessageAlone() {
        let t = turn(.absent)
        let k = keys(t)
        XCTAssertEqual(RestorePlanner.decide(t, keys: k, found: k.map { _ in nil }, policy: policy(.reject, thinking: false)), .untouched)
    }

    func testScopeAllGivesPlainMessagesOnlyThePlaceholder() {
        let plain = turn(.absent, ids: [])
        XCTAssertNil(RestorePlanner.keys(for: [plain], scope: .toolCalls, builder: builder)[0], "tool-calls scope leaves plain messages alone")
        XCTAssertEqual(RestorePlanner.decide(plain, keys: [], found: [], policy: policy(.reject)), .untouched)
        let k = keys(plain, scope: .all)
        XCTAssertEqual(k.map(\.kind), [.context], "empty content without calls has no content key, only its place")
        XCTAssertEqual(RestorePlanner.decide(plain, keys: k, found: k.map { _ in nil }, policy: policy(.reject, scope: .all)),
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
