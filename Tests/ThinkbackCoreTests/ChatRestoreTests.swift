import Foundation
import XCTest
import ThinkbackTestSupport
@testable import ThinkbackCore

/// The OpenAI adapter of the restore core: keys, decisions turned into splices, strip and
/// textualize leaving valid requests, capture keys meeting request keys.
final class ChatRestoreTests: XCTestCase {
    let tenant = TenantHasher(secret: Array(repeating: 7, count: 32)).tenant(forCredential: utf8("key-A"))
    var builder: KeyBuilder { KeyBuilder(tenant: tenant) }

    func policy(_ strategy: MissStrategy = .auto, scope: UpstreamPreset.RestoreScope = .toolCalls,
                thinking: Bool = true, refused: Bool = false) -> RestorePolicy {
        RestorePolicy(scope: scope, strategy: strategy, placeholder: utf8(" "), thinking: thinking,
                      placeholdersRefused: refused)
    }

    /// user, assistant(2 calls, no reasoning), tool, tool, assistant(final, plain), user
    let history = #"""
    {"model":"mimo-v2.5-pro","n":1e400,"messages":[{"role":"user","content":"Weather in \u5317\u4eac?"},
     {"role":"assistant","content":"","tool_calls":[{"id":"call_aaa111","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"\u5317\u4eac\", \"days\": 2}"}},
                                                   {"id":"call_bbb222","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
     {"role":"tool","tool_call_id":"call_aaa111","content":"sunny"},
     {"role":"tool","tool_call_id":"call_bbb222","content":[{"type":"text","text":"12:00"}]},
     {"role":"assistant","content":"It is sunny."},
     {"role":"user","content":"thanks"}],"x-unknown":{"keep":[1.50,-0.0]}}
    """#

    /// What capture would record for the assistant turn of `history` (as the provider sent it).
    var capturedTurn: CapturedChoice {
        CapturedChoice(index: 0, reasoning: utf8("思考 \"quoted\" \\ 🤔\nline"), content: [],
                       toolCalls: [CapturedToolCall(id: "call_aaa111", name: "get_weather", arguments: utf8(#"{"city":"北京","days":2}"#)),
                                   CapturedToolCall(id: "call_bbb222", name: "get_time", arguments: utf8("{}"))],
                       finishReason: "tool_calls")
    }

    /// The request that produced `capturedTurn`: the first user message alone (with other
    /// members around it, which the history digest leaves out).
    let firstRequest = #"{"model":"mimo-v2.5-pro","stream":true,"messages":[{"name":"me","content":"Weather in \u5317\u4eac?", "role":"user"}]}"#

    /// The history digest of a request (what its answer's capture is keyed by).
    func historyDigest(_ body: String, builder: KeyBuilder? = nil) throws -> SHA256Digest {
        let bytes = utf8(body)
        let scan = try ChatRequestScan(bytes)
        return bytes.withUnsafeBytes { ChatRestore.plan(scan, body: $0, scope: .toolCalls, builder: builder ?? self.builder).history }
    }

    func pending(_ body: String, scope: UpstreamPreset.RestoreScope = .toolCalls, builder: KeyBuilder? = nil) throws -> [ChatRestore.Pending] {
        let bytes = utf8(body)
        let scan = try ChatRequestScan(bytes)
        return bytes.withUnsafeBytes { ChatRestore.plan(scan, body: $0, scope: scope, builder: builder ?? self.builder).pending }
    }

    func run(_ body: String, policy: RestorePolicy, store: MemoryStore) throws -> (ChatRestore.Outcome, [UInt8]) {
        let bytes = utf8(body)
        let scan = try ChatRequestScan(bytes)
        return try bytes.withUnsafeBytes { raw in
            let pending = ChatRestore.plan(scan, body: raw, scope: policy.scope, builder: builder).pending
            let found = pending.map { $0.keys.map { store.lookupNow($0) } }
            let outcome = ChatRestore.outcome(scan, body: raw, pending: pending, found: found, policy: policy)
            return (outcome, try JSONSplicer.apply(outcome.edits, to: raw))
        }
    }

    func storeWithCapture(_ choice: CapturedChoice? = nil, request: String? = nil) throws -> MemoryStore {
        let store = MemoryStore()
        let (value, keys) = ChatRestore.record(choice ?? capturedTurn, history: try historyDigest(request ?? firstRequest),
                                               builder: builder, nowMs: SystemStoreClock().nowMilliseconds())
        store.insert(value, for: keys)
        return store
    }

    /// The messages, parsed by Foundation (which refuses `1e400`: it is swapped for 0 first).
    func messages(_ body: [UInt8]) throws -> [[String: Any]] {
        let parsable = utf8(text(body).replacingOccurrences(of: "1e400", with: "0"))
        let object = try XCTUnwrap(try foundationObject(parsable) as? [String: Any])
        return try XCTUnwrap(object["messages"] as? [[String: Any]])
    }

    func testOnlyAssistantToolCallMessagesWithoutReasoningArePending() throws {
        let toolCalls = try pending(history)
        XCTAssertEqual(toolCalls.map(\.turn.messageIndex), [1])
        XCTAssertEqual(toolCalls[0].keys.map(\.kind), [.context, .toolCallContent, .toolCallContent, .content],
                       "its place, its two ids with its content, its content")
        XCTAssertEqual(try pending(history, scope: .all).map(\.turn.messageIndex), [1, 4])
    }

    func testAHitIsSplicedAndEverythingElseIsKeptByteForByte() throws {
        let (outcome, out) = try run(history, policy: policy(), store: try storeWithCapture())
        XCTAssertEqual(outcome.actions.map(\.messageIndex), [1])
        guard case .restore(_, let kind) = outcome.actions[0].action else { return XCTFail("\(outcome.actions)") }
        XCTAssertEqual(kind, .context)
        // Removing the inserted member gives back the original bytes exactly.
        let inserted = #","reasoning_content":"# + text(JSONStringEncoder.encode(capturedTurn.reasoning!))
        XCTAssertEqual(text(out).replacingOccurrences(of: inserted, with: ""), history)
        XCTAssertEqual(try messages(out)[1]["reasoning_content"] as? String, text(capturedTurn.reasoning!))
    }

    func testCaptureStoresTheJSONLiteralAndRawTextFromEarlierVersionsRestoresTheSame() throws {
        let (captured, keys) = ChatRestore.record(capturedTurn, history: try historyDigest(firstRequest), builder: builder,
                                                  nowMs: SystemStoreClock().nowMilliseconds())
        XCTAssertEqual(captured.format, .reasoningContentJSON)
        XCTAssertEqual(captured.text, JSONStringEncoder.encode(capturedTurn.reasoning!), "encoded once, at capture")
        XCTAssertEqual(captured.reasoningContentText, capturedTurn.reasoning)
        XCTAssertTrue(captured.isWellFormed)
        // A store written before the JSON literal was kept holds the raw text (format 0).
        let old = MemoryStore()
        old.insert(StoredReasoning(text: capturedTurn.reasoning!, format: .reasoningContent,
                                   storedAtMilliseconds: captured.storedAtMilliseconds), for: keys)
        let (_, fromOld) = try run(history, policy: policy(), store: old)
        let (_, fromNew) = try run(history, policy: policy(), store: try storeWithCapture())
        XCTAssertEqual(fromOld, fromNew)
    }

    func testAMalformedJSONLiteralIsNotWellFormed() {
        for bad in [#""unterminated"#, #""a" "#, #""\x""#, #"{"a":1}"#, "", #"""#, #""ctl\#u{01}""#] {
            let value = StoredReasoning(text: Array(bad.utf8), format: .reasoningContentJSON, storedAtMilliseconds: 0)
            XCTAssertFalse(value.isWellFormed, bad)
        }
        let raw = StoredReasoning(text: Array("not json \"".utf8), format: .reasoningContent, storedAtMilliseconds: 0)
        XCTAssertTrue(raw.isWellFormed, "raw text is encoded at restore: any bytes do")
    }

    func testANonEmptyClientReasoningIsNeverTouched() throws {
        let body = history.replacingOccurrences(of: #"{"role":"assistant","content":"","#,
                                                with: #"{"role":"assistant","reasoning_content":"mine","content":"","#)
        let (outcome, out) = try run(body, policy: policy(), store: try storeWithCapture())
        XCTAssertTrue(outcome.actions.isEmpty)
        XCTAssertEqual(text(out), body)
    }

    func testNullAndEmptyReasoningAreReplacedNotDoubled() throws {
        for value in ["null", #""""#] {
            let body = history.replacingOccurrences(of: #"{"role":"assistant","content":"","#,
                                                    with: #"{"role":"assistant","reasoning_content":\#(value),"content":"","#)
            let (_, out) = try run(body, policy: policy(), store: try storeWithCapture())
            XCTAssertEqual(text(out).components(separatedBy: "reasoning_content").count, 2, "exactly one member")
            XCTAssertEqual(try messages(out)[1]["reasoning_content"] as? String, text(capturedTurn.reasoning!))
        }
    }

    func testRenumberedIdsStillHitByTheirPlace() throws {
        let body = history.replacingOccurrences(of: "call_aaa111", with: "tool-9").replacingOccurrences(of: "call_bbb222", with: "tool-10")
        let (outcome, out) = try run(body, policy: policy(), store: try storeWithCapture())
        guard case .restore(_, .context) = outcome.actions.first?.action else { return XCTFail("\(outcome.actions)") }
        XCTAssertEqual(try messages(out)[1]["reasoning_content"] as? String, text(capturedTurn.reasoning!))
    }

    /// A client that changed what came before (here the first question): the place is new, so
    /// the message is found by its ids (with its content), or without them by its content.
    func testAChangedHistoryFallsBackToIdsThenContent() throws {
        let changed = history.replacingOccurrences(of: #"Weather in \u5317\u4eac?"#, with: "Weather in Beijing?")
        XCTAssertNotEqual(changed, history)
        let (byID, _) = try run(changed, policy: policy(), store: try storeWithCapture())
        guard case .restore(_, .toolCallContent) = byID.actions.first?.action else { return XCTFail("\(byID.actions)") }
        // Ids with the underscore dropped are the same normalised id.
        let stripped = changed.replacingOccurrences(of: "call_aaa111", with: "callaaa111")
        let (o2, _) = try run(stripped, policy: policy(), store: try storeWithCapture())
        guard case .restore(_, .toolCallContent) = o2.actions.first?.action else { return XCTFail("\(o2.actions)") }
        let renumbered = changed.replacingOccurrences(of: "call_aaa111", with: "x1").replacingOccurrences(of: "call_bbb222", with: "x2")
        let (o3, out) = try run(renumbered, policy: policy(), store: try storeWithCapture())
        guard case .restore(_, .content) = o3.actions.first?.action else { return XCTFail("\(o3.actions)") }
        XCTAssertEqual(try messages(out)[1]["reasoning_content"] as? String, text(capturedTurn.reasoning!))
    }

    func testAnotherTenantNeverHits() throws {
        let store = try storeWithCapture()
        let other = KeyBuilder(tenant: TenantHasher(secret: Array(repeating: 7, count: 32)).tenant(forCredential: utf8("key-B")))
        let keys = try pending(history, builder: other).flatMap(\.keys)
        XCTAssertEqual(keys.count, 4)
        XCTAssertTrue(keys.allSatisfy { store.lookupNow($0) == nil })
    }

    func testPlaceholderAndReject() throws {
        let empty = MemoryStore()
        let (p, out) = try run(history, policy: policy(.placeholder), store: empty)
        XCTAssertTrue(p.usedPlaceholder)
        XCTAssertEqual(try messages(out)[1]["reasoning_content"] as? String, " ")
        let (a, _) = try run(history, policy: policy(.auto), store: empty)
        XCTAssertTrue(a.usedPlaceholder, "auto starts with the placeholder")
        let (r, rout) = try run(history, policy: policy(.reject), store: empty)
        XCTAssertEqual(r.rejectedMessageIndex, 1)
        XCTAssertEqual(text(rout), history, "nothing is edited when rejecting")
        let (off, offOut) = try run(history, policy: policy(.reject, thinking: false), store: empty)
        XCTAssertNil(off.rejectedMessageIndex, "without thinking a miss is harmless")
        XCTAssertEqual(text(offOut), history)
    }

    func testStripRemovesTheCallsAndTheirToolMessages() throws {
        let (_, out) = try run(history, policy: policy(.strip), store: MemoryStore())
        let m = try messages(out)
        XCTAssertEqual(m.map { $0["role"] as? String }, ["user", "assistant", "assistant", "user"])
        XCTAssertNil(m[1]["tool_calls"])
        XCTAssertEqual(m[1]["content"] as? String, "")
        XCTAssertTrue(text(out).contains(#""x-unknown":{"keep":[1.50,-0.0]}"#))
    }

    func testTextualizeWritesTheDocumentedLayout() throws {
        let (_, out) = try run(history, policy: policy(.textualize), store: MemoryStore())
        let m = try messages(out)
        XCTAssertEqual(m.map { $0["role"] as? String }, ["user", "assistant", "user", "assistant", "user"])
        XCTAssertNil(m[1]["tool_calls"])
        XCTAssertEqual(m[1]["content"] as? String,
                       "[tool call] get_weather({\"city\": \"北京\", \"days\": 2})\n[tool call] get_time({})")
        XCTAssertEqual(m[2]["content"] as? String, "[tool result get_weather] sunny\n[tool result get_time] 12:00")
        XCTAssertFalse(text(out).contains("<tool_call>"))
        // auto after a refusal resolves to textualize; with restore = all it carries the placeholder.
        let (_, all) = try run(history, policy: policy(.auto, scope: .all, refused: true), store: MemoryStore())
        let ma = try messages(all)
        XCTAssertEqual(ma[1]["reasoning_content"] as? String, " ")
        XCTAssertEqual(ma[3]["reasoning_content"] as? String, " ", "the plain assistant message gets the placeholder")
    }

    func testAnOrphanFreeResultForEveryStrategyOnRandomHistories() throws {
        var rng = SeededGenerator(seed: 42)
        for _ in 0 ..< 200 {
            var parts: [String] = [#"{"role":"user","content":"go"}"#]
            var callNumber = 0
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                let n = Int.random(in: 1 ... 3, using: &rng)
                let ids = (0 ..< n).map { _ -> String in callNumber += 1; return "call_\(callNumber)" }
                let calls = ids.map { #"{"id":"\#($0)","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}"# }
                parts.append(#"{"role":"assistant","content":null,"tool_calls":[\#(calls.joined(separator: ","))]}"#)
                for id in ids.shuffled(using: &rng) { parts.append(#"{"role":"tool","tool_call_id":"\#(id)","content":"r"}"#) }
                if Bool.random(using: &rng) { parts.append(#"{"role":"assistant","content":"done"}"#) }
                parts.append(#"{"role":"user","content":"more"}"#)
            }
            let body = #"{"model":"m","messages":[\#(parts.joined(separator: ",\n"))]}"#
            for strategy in [MissStrategy.strip, .textualize, .placeholder] {
                let (_, out) = try run(body, policy: policy(strategy), store: MemoryStore())
                let m = try messages(out)
                var open = Set<String>()
                for message in m {
                    if let calls = message["tool_calls"] as? [[String: Any]] {
                        open = Set(calls.compactMap { $0["id"] as? String })
                    } else if message["role"] as? String == "tool" {
                        let id = try XCTUnwrap(message["tool_call_id"] as? String)
                        XCTAssertTrue(open.contains(id), "\(strategy): orphaned tool message \(id)")
                    }
                }
            }
        }
    }

    func testCaptureKeysMeetRequestKeysAcrossSpellings() throws {
        // Captured from a stream: arguments spelled one way; the client resends them another way.
        let store = try storeWithCapture()
        let (outcome, _) = try run(history.replacingOccurrences(of: "call_aaa111", with: "x1").replacingOccurrences(of: "call_bbb222", with: "x2"),
                                   policy: policy(), store: store)
        guard case .restore = outcome.actions.first?.action else { return XCTFail("content key must match: \(outcome.actions)") }
        // Different arguments: no hit.
        let changed = history.replacingOccurrences(of: "call_aaa111", with: "x1").replacingOccurrences(of: "call_bbb222", with: "x2")
            .replacingOccurrences(of: #"\"days\": 2"#, with: #"\"days\": 3"#)
        let (o2, _) = try run(changed, policy: policy(.placeholder), store: store)
        XCTAssertEqual(o2.actions.first?.action, .placeholder)
    }

    func testAbsentReasoningIsRecordedAsEmpty() throws {
        var choice = capturedTurn
        choice.reasoningLiteral = nil
        let (value, keys) = ChatRestore.record(choice, history: try historyDigest(firstRequest), builder: builder, nowMs: 5)
        XCTAssertEqual(value.reasoningContentText, [])
        XCTAssertEqual(value.text, Array(#""""#.utf8), "stored as its JSON literal")
        XCTAssertEqual(keys.map(\.kind), [.context, .toolCallContent, .toolCallContent, .content])
    }
}
