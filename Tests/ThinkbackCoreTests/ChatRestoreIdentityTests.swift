import XCTest
@testable import ThinkbackCore

/// Keys name one message, never its look-alikes (product.md §1): Kimi's ids repeat across
/// answers, agents repeat the very same call, clients renumber ids and change their spelling —
/// every message gets its own reasoning back, or a miss, never another message's.
final class ChatRestoreIdentityTests: XCTestCase {
    let builder = KeyBuilder(tenant: TenantHasher(secret: Array(repeating: 3, count: 32)).tenant(forCredential: utf8("key")))
    let policy = RestorePolicy(scope: .toolCalls, strategy: .placeholder, placeholder: utf8(" "), thinking: true)

    /// An assistant message with one call.
    func call(_ id: String, _ name: String, _ arguments: String, reasoning: String? = nil) -> String {
        let r = reasoning.map { #","reasoning_content":"\#($0)""# } ?? ""
        let args = arguments.replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"role":"assistant","content":""\#(r),"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"\#(name)","arguments":"\#(args)"}}]}"#
    }

    func tool(_ id: String, _ content: String) -> String { #"{"role":"tool","tool_call_id":"\#(id)","content":"\#(content)"}"# }
    func user(_ content: String) -> String { #"{"role":"user","content":"\#(content)"}"# }
    func body(_ messages: [String]) -> String { #"{"model":"kimi-k2.6","messages":[\#(messages.joined(separator: ","))]}"# }

    /// Captures `answer` (the assistant message `messages` led to) with `reasoning`.
    func capture(_ messages: [String], answerID: String, name: String, arguments: String, reasoning: String, into store: MemoryStore) throws {
        let request = utf8(body(messages))
        let scan = try ChatRequestScan(request)
        let history = request.withUnsafeBytes { ChatRestore.plan(scan, body: $0, scope: .toolCalls, builder: builder).history }
        let choice = CapturedChoice(index: 0, reasoning: utf8(reasoning), content: [],
                                    toolCalls: [CapturedToolCall(id: answerID, name: name, arguments: utf8(arguments))], finishReason: "tool_calls")
        let (value, keys) = ChatRestore.record(choice, history: history, builder: builder, nowMs: SystemStoreClock().nowMilliseconds())
        store.insert(value, for: keys)
    }

    static let miss = "<miss>"

    /// What each assistant message of `messages` gets restored with (`miss`: nothing).
    func restored(_ messages: [String], store: MemoryStore) throws -> [Int: String] {
        let request = utf8(body(messages))
        let scan = try ChatRequestScan(request)
        return request.withUnsafeBytes { raw in
            let pending = ChatRestore.plan(scan, body: raw, scope: .toolCalls, builder: builder).pending
            let found = pending.map { $0.keys.map { store.lookupNow($0) } }
            let outcome = ChatRestore.outcome(scan, body: raw, pending: pending, found: found, policy: policy)
            var out: [Int: String] = [:]
            for (index, action) in outcome.actions {
                if case .restore(let value, _) = action {
                    out[index] = value.reasoningContentText.map { String(decoding: $0, as: UTF8.self) }
                } else {
                    out[index] = Self.miss
                }
            }
            return out
        }
    }

    /// Three rounds through Kimi, whose ids restart at `:0` in every answer.
    func kimiConversation(store: MemoryStore, sameCall: Bool) throws -> [String] {
        var messages = [user("read the files")]
        let arguments = [#"{"path":"a.txt"}"#, sameCall ? #"{"path":"a.txt"}"# : #"{"path":"b.txt"}"#,
                         sameCall ? #"{"path":"a.txt"}"# : #"{"path":"c.txt"}"#]
        for round in 0 ..< 3 {
            try capture(messages, answerID: "functions.read:0", name: "read", arguments: arguments[round],
                        reasoning: "reasoning of round \(round)", into: store)
            messages.append(call("functions.read:0", "read", arguments[round]))
            messages.append(tool("functions.read:0", "contents \(round)"))
        }
        return messages
    }

    func testKimiIdsThatRepeatAcrossAnswersRestoreEachTurnsOwnReasoning() throws {
        for sameCall in [false, true] {
            let store = MemoryStore()
            let messages = try kimiConversation(store: store, sameCall: sameCall)
            XCTAssertEqual(try restored(messages, store: store),
                           [1: "reasoning of round 0", 3: "reasoning of round 1", 5: "reasoning of round 2"], "same call: \(sameCall)")
        }
    }

    func testTheSameCallInTwoRoundsThroughARenumberingClientRestoresEachRoundsOwn() throws {
        let store = MemoryStore()
        var messages = [user("poll the job")]
        for round in 0 ..< 3 {
            // The provider's ids are unique; the client renumbers them before sending them back.
            try capture(messages, answerID: "call_\(round)abc", name: "status", arguments: #"{"job":7}"#,
                        reasoning: "poll \(round)", into: store)
            messages.append(call("tool-\(round + 1)", "status", #"{"job":7}"#))
            messages.append(tool("tool-\(round + 1)", "pending"))
        }
        XCTAssertEqual(try restored(messages, store: store), [1: "poll 0", 3: "poll 1", 5: "poll 2"])
    }

    func testWhereTheHistoryNoLongerSaysWhichTurnItIsAMissNeverAnothersReasoning() throws {
        let store = MemoryStore()
        var messages = [user("poll the job")]
        for round in 0 ..< 2 {
            try capture(messages, answerID: "call_\(round)abc", name: "status", arguments: #"{"job":7}"#,
                        reasoning: "poll \(round)", into: store)
            messages.append(call("tool-\(round + 1)", "status", #"{"job":7}"#))
            messages.append(tool("tool-\(round + 1)", "pending"))
        }
        // The client rewrote the first question (a changed system prompt does the same): no
        // message is at a place thinkback saw, and the two calls look alike — both miss.
        messages[0] = user("poll the job, please")
        XCTAssertEqual(try restored(messages, store: store), [1: Self.miss, 3: Self.miss])
        // With the provider's own ids the client kept, each is still found by its id.
        var kept = [user("poll the job, please")]
        for round in 0 ..< 2 {
            kept.append(call("call_\(round)abc", "status", #"{"job":7}"#))
            kept.append(tool("call_\(round)abc", "pending"))
        }
        XCTAssertEqual(try restored(kept, store: store), [1: "poll 0", 3: "poll 1"])
    }

    func testAnIdReusedForAnotherCallIsNotTrustedAlone() throws {
        let store = MemoryStore()
        // Only the second round was captured (the first went through before thinkback).
        let first = [user("read the files")]
        var second = first + [call("functions.read:0", "read", #"{"path":"a.txt"}"#), tool("functions.read:0", "A")]
        try capture(second, answerID: "functions.read:0", name: "read", arguments: #"{"path":"b.txt"}"#, reasoning: "about b", into: store)
        second += [call("functions.read:0", "read", #"{"path":"b.txt"}"#), tool("functions.read:0", "B")]
        XCTAssertEqual(try restored(second, store: store), [1: Self.miss, 3: "about b"],
                       "message 1 shares the id, not the call: a miss, not b's reasoning")
    }

    func testTheCaptureHistoryIsTheHistoryTheAnswerComesBackWith() throws {
        // What the client sends back differs from what produced the answer in everything but
        // what the history covers: ids renumbered, reasoning added, the spelling of the
        // assistant messages it rebuilt, members and their order, spacing.
        let asked = [#"{"role":"system","content":"be brief"}"#, user("weather in \\u5317\\u4eac?"),
                     call("call_x1", "get_weather", #"{"city":"北京"}"#), tool("call_x1", "sunny"), user("and tomorrow?")]
        let store = MemoryStore()
        try capture(asked, answerID: "call_y", name: "get_forecast", arguments: #"{"city":"北京","day":1}"#, reasoning: "forecast", into: store)
        let resent = [#"{"name":"sys", "content":"be brief" ,"role":"system"}"#, user("weather in \\u5317\\u4eac?"),
                      call("t-1", "get_weather", #"{ "city" : "\\u5317\\u4eac" }"#, reasoning: "kept by the client"),
                      #"{"content":"sunny","tool_call_id":"t-1","role":"tool"}"#, user("and tomorrow?"),
                      call("t-2", "get_forecast", #"{"day":1,"city":"北京"}"#)]
        let request = utf8(body(resent))
        let scan = try ChatRequestScan(request)
        let pending = request.withUnsafeBytes { ChatRestore.plan(scan, body: $0, scope: .toolCalls, builder: builder).pending }
        XCTAssertEqual(pending.map(\.turn.messageIndex), [5])
        XCTAssertEqual(try restored(resent, store: store), [5: "forecast"])
        guard let key = pending.first?.keys.first, let value = store.lookupNow(key), key.kind == .context else {
            return XCTFail("found by its place")
        }
        XCTAssertEqual(value.reasoningContentText, utf8("forecast"))
        // Another earlier result is another place.
        var changed = resent
        changed[3] = tool("t-1", "rain")
        let other = utf8(body(changed))
        let otherScan = try ChatRequestScan(other)
        let otherKeys = other.withUnsafeBytes { ChatRestore.plan(otherScan, body: $0, scope: .toolCalls, builder: builder).pending.first?.keys }
        XCTAssertNotEqual(otherKeys?.first, key)
    }
}
