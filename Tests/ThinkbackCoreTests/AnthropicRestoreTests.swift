import Foundation
import XCTest
@testable import ThinkbackCore

/// The Anthropic adapter of the restore core (issue 19): scan, capture (whole and streamed),
/// and the blocks put back where the provider had them.
final class AnthropicRestoreTests: XCTestCase {
    let builder = KeyBuilder(tenant: .single)
    let issuer = "https://api.example/anthropic"
    let policy = RestorePolicy(scope: .toolCalls, strategy: .placeholder, placeholder: Array(" ".utf8), thinking: true)

    // MARK: helpers

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func capture(_ response: String) -> CapturedAnthropicMessage? {
        bytes(response).withUnsafeBytes { CapturedAnthropicMessage(response: $0) }
    }

    /// The request after restoration, given the value stored for its answer.
    func restored(_ request: String, stored: StoredReasoning?, policy: RestorePolicy? = nil, issuer: String? = nil) throws -> String {
        let body = bytes(request)
        let scan = try AnthropicRequestScan(body)
        let plan = body.withUnsafeBytes { AnthropicRestore.plan(scan, body: $0, scope: .toolCalls, builder: builder) }
        let found = plan.pending.map { p in p.keys.map { _ in stored } }
        let outcome = body.withUnsafeBytes {
            AnthropicRestore.outcome(scan, body: $0, pending: plan.pending, found: found, policy: policy ?? self.policy,
                                     issuer: issuer ?? self.issuer)
        }
        let out = try body.withUnsafeBytes { try JSONSplicer.apply(outcome.edits, to: $0) }
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(out)), "the restored body is JSON")
        return String(decoding: out, as: UTF8.self)
    }

    func stored(_ response: String, issuer: String? = nil) -> StoredReasoning {
        let message = capture(response)!
        return AnthropicRestore.record(message, issuer: issuer ?? self.issuer, history: HistoryHasher().digest(),
                                       builder: builder, nowMs: 1).0
    }

    // MARK: scan

    func testTheScanFindsBlocksToolUsesAndResults() throws {
        let body = bytes(#"""
        {"model":"m","stream":true,"thinking":{"type":"adaptive"},"system":"s","messages":[
          {"role":"user","content":"hi"},
          {"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"b":1,"a":[2]}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"r"}]}]},
          {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"done"}]}]}
        """#)
        let scan = try AnthropicRequestScan(body)
        XCTAssertEqual(scan.model, "m")
        XCTAssertEqual(scan.stream, true)
        XCTAssertEqual(scan.thinkingType, "adaptive")
        XCTAssertEqual(scan.messages.count, 4)
        XCTAssertEqual(scan.messages[0].content.kind, .string)
        let a = scan.messages[1]
        XCTAssertEqual(a.blocks.map(\.type), [.text, .toolUse])
        XCTAssertFalse(a.hasThinking)
        XCTAssertEqual(a.toolUses.first?.id, "toolu_1")
        XCTAssertEqual(a.toolUses.first?.input.map { String(decoding: body[$0], as: UTF8.self) }, #"{"b":1,"a":[2]}"#)
        XCTAssertEqual(scan.messages[2].blocks.first?.toolUseID, "toolu_1")
        XCTAssertTrue(scan.messages[3].hasThinking)
    }

    func testShapeAndSyntaxErrors() {
        XCTAssertThrowsError(try AnthropicRequestScan(bytes(#"{"model":"m"}"#))) { error in
            guard case ChatRequestScanError.shape = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try AnthropicRequestScan(bytes(#"{"messages":[1,}"#))) { error in
            guard case ChatRequestScanError.syntax = error else { return XCTFail("\(error)") }
        }
    }

    // MARK: capture

    func testCaptureRecordsEachThinkingBlockWithItsPlace() {
        // Interleaved thinking: a block before each call; a redacted one at the end.
        let m = capture(#"""
        {"type":"message","role":"assistant","content":[
          {"type":"thinking","thinking":"A","signature":"sa"},{"type":"tool_use","id":"t1","name":"f","input":{"x":1}},
          {"type":"thinking","thinking":"B \u5317","signature":"sb"},{"type":"tool_use","id":"t2","name":"g","input":{}},
          {"type":"redacted_thinking","data":"opaque"}],"stop_reason":"tool_use"}
        """#)!
        XCTAssertEqual(m.thinking.map(\.before), [0, 1, 2])
        XCTAssertEqual(String(decoding: m.thinking[1].bytes, as: UTF8.self), #"{"type":"thinking","thinking":"B \u5317","signature":"sb"}"#)
        XCTAssertEqual(m.toolUses.map(\.id), ["t1", "t2"])
        XCTAssertEqual(m.toolUses[1].input, bytes("{}"))
        XCTAssertEqual(m.stopReason, "tool_use")
        XCTAssertNil(capture(#"{"type":"message","content":"x"}"#))
        XCTAssertNil(capture(#"{"type":"message","content":[}"#))
    }

    func testCloudswaysOrderTextFirstThinkingLast() {
        let m = capture(#"{"content":[{"type":"text","text":" hi "},{"type":"thinking","signature":"","thinking":"T"}],"stop_reason":"end_turn"}"#)!
        XCTAssertEqual(m.thinking.map(\.before), [1])
        XCTAssertEqual(m.content, bytes("hi"))
    }

    // MARK: streams

    static let streamEvents: [String] = [
        #"{"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","content":[]}}"#,
        #"{"type":"ping"}"#,
        #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me \ud83d"}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"\ude00 think"}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
        #"{"type":"content_block_stop","index":0}"#,
        #"{"type":"something_new","index":9}"#,
        #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
        #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking"}}"#,
        #"{"type":"content_block_stop","index":1}"#,
        #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{}}}"#,
        #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}"#,
        #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"Beijing\"}"}}"#,
        #"{"type":"content_block_stop","index":2}"#,
        #"{"type":"message_delta","delta":{"stop_reason":"tool_use"}}"#,
        #"{"type":"message_stop"}"#,
    ]

    static func sse(_ events: [String]) -> [UInt8] {
        Array(events.map { e -> String in
            let name = (try? JSONSerialization.jsonObject(with: Data(e.utf8)) as? [String: Any])?["type"] as? String ?? "x"
            return "event: \(name)\ndata: \(e)\n\n"
        }.joined().utf8)
    }

    func testAStreamSplitAnywhereCapturesTheSameMessage() {
        let whole = Self.sse(Self.streamEvents)
        var reference = AnthropicStreamRecorder()
        XCTAssertTrue(whole.withUnsafeBytes { reference.feed($0) })
        let expected = reference.finish(completed: true)
        XCTAssertEqual(expected?.toolUses, [CapturedToolUse(id: "toolu_9", name: "get_weather", input: bytes(#"{"city": "Beijing"}"#))])
        XCTAssertEqual(expected?.content, bytes("Checking"))
        XCTAssertEqual(expected?.stopReason, "tool_use")
        XCTAssertEqual(expected?.thinking.map(\.before), [0])
        let block = expected.map { String(decoding: $0.thinking[0].bytes, as: UTF8.self) }
        XCTAssertEqual(block, #"{"type":"thinking","thinking":"Let me \ud83d\ude00 think","signature":"sig"}"#)
        for cut in stride(from: 1, to: whole.count, by: 7) {
            var r = AnthropicStreamRecorder()
            _ = whole[..<cut].withUnsafeBytes { r.feed($0) }
            _ = whole[cut...].withUnsafeBytes { r.feed($0) }
            XCTAssertEqual(r.finish(completed: true), expected, "cut at \(cut)")
        }
        var bytewise = AnthropicStreamRecorder()
        for b in whole { _ = [b].withUnsafeBytes { bytewise.feed($0) } }
        XCTAssertEqual(bytewise.finish(completed: true), expected)
    }

    func testAStreamWithoutItsStopOrWithAnErrorRecordsNothing() {
        var cut = AnthropicStreamRecorder()
        _ = Self.sse(Array(Self.streamEvents.dropLast())).withUnsafeBytes { cut.feed($0) }
        XCTAssertNil(cut.finish(completed: true))
        var failed = AnthropicStreamRecorder()
        var events = Self.streamEvents
        events.insert(#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#, at: 5)
        _ = Self.sse(events).withUnsafeBytes { failed.feed($0) }
        XCTAssertNil(failed.finish(completed: true))
        var bounded = AnthropicStreamRecorder(limit: 64)
        _ = Self.sse(Self.streamEvents).withUnsafeBytes { bounded.feed($0) }
        XCTAssertTrue(bounded.isOverLimit)
        XCTAssertNil(bounded.finish(completed: true))
    }

    // MARK: restore

    func testInterleavedBlocksGoBackWhereTheProviderHadThem() throws {
        let value = stored(#"""
        {"content":[{"type":"thinking","thinking":"A","signature":"sa"},{"type":"tool_use","id":"t1","name":"f","input":{"x":1}},
          {"type":"thinking","thinking":"B","signature":"sb"},{"type":"tool_use","id":"t2","name":"g","input":{}}]}
        """#)
        let out = try restored(#"""
        {"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[ {"type":"tool_use","id":"t1","name":"f","input":{"x":1}}, {"type":"tool_use","id":"t2","name":"g","input":{}} ]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r"}]}]}
        """#, stored: value)
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        let blocks = ((json["messages"] as! [[String: Any]])[1]["content"] as! [[String: Any]])
        XCTAssertEqual(blocks.map { $0["type"] as! String }, ["thinking", "tool_use", "thinking", "tool_use"])
        XCTAssertEqual(blocks.compactMap { $0["thinking"] as? String }, ["A", "B"])
        XCTAssertTrue(out.contains(#"{"type":"thinking","thinking":"A","signature":"sa"}"#))
    }

    func testThinkingLastAndAStringContent() throws {
        let value = stored(#"{"content":[{"type":"text","text":"x"},{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"thinking","signature":"","thinking":"Z"}]}"#)
        let out = try restored(#"{"messages":[{"role":"assistant","content":[{"type":"text","text":"x"},{"type":"tool_use","id":"t1","name":"f","input":{}}]}]}"#, stored: value)
        XCTAssertTrue(out.hasSuffix(#"{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"thinking","signature":"","thinking":"Z"}]}]}"#), out)
        // restore = all reaches a string content: it becomes blocks, thinking first.
        let plain = stored(#"{"content":[{"type":"thinking","thinking":"P","signature":""},{"type":"text","text":"hello"}]}"#)
        let all = RestorePolicy(scope: .all, strategy: .placeholder, placeholder: [32], thinking: true)
        let body = bytes(#"{"messages":[{"role":"assistant","content":"hello"}]}"#)
        let scan = try AnthropicRequestScan(body)
        let plan = body.withUnsafeBytes { AnthropicRestore.plan(scan, body: $0, scope: .all, builder: builder) }
        let outcome = body.withUnsafeBytes {
            AnthropicRestore.outcome(scan, body: $0, pending: plan.pending, found: [[plain, plain]], policy: all, issuer: issuer)
        }
        let spliced = try body.withUnsafeBytes { try JSONSplicer.apply(outcome.edits, to: $0) }
        XCTAssertEqual(String(decoding: spliced, as: UTF8.self),
                       #"{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"P","signature":""},{"type":"text","text":"hello"}]}]}"#)
    }

    func testASignatureNeverCrossesToAnotherUpstream() throws {
        let value = stored(#"{"content":[{"type":"thinking","thinking":"A","signature":"by-deepseek"},{"type":"redacted_thinking","data":"d"},{"type":"tool_use","id":"t1","name":"f","input":{}}]}"#,
                           issuer: "https://api.deepseek.com/anthropic")
        let out = try restored(#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}]}"#,
                               stored: value, issuer: "https://api.xiaomimimo.com/anthropic")
        XCTAssertFalse(out.contains("by-deepseek"))
        XCTAssertFalse(out.contains("redacted_thinking"))
        XCTAssertTrue(out.contains(#"{"type":"thinking","thinking":"A","signature":""}"#), out)
        let same = try restored(#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}]}"#,
                                stored: value, issuer: "https://api.deepseek.com/anthropic")
        XCTAssertTrue(same.contains("by-deepseek") && same.contains(#"{"type":"redacted_thinking","data":"d"}"#))
    }

    func testAValueOfTheOtherWireFormatIsAMiss() throws {
        let openAI = StoredReasoning.reasoningContent(bytes("chat reasoning"), storedAtMilliseconds: 1)
        let out = try restored(#"{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]}]}"#, stored: openAI)
        XCTAssertFalse(out.contains("chat reasoning"))
        XCTAssertTrue(out.contains(#"{"type":"thinking","thinking":" ","signature":""}"#), out)
    }

    /// The other way round: Anthropic blocks found for a chat request are no answer either.
    func testAChatRequestNeverGetsAnthropicBlocks() throws {
        let value = stored(#"{"content":[{"type":"thinking","thinking":"blocks","signature":""},{"type":"tool_use","id":"t1","name":"f","input":{}}]}"#)
        let body = bytes(#"{"messages":[{"role":"assistant","content":"","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}"#)
        let scan = try ChatRequestScan(body)
        let plan = body.withUnsafeBytes { ChatRestore.plan(scan, body: $0, scope: .toolCalls, builder: builder) }
        let outcome = body.withUnsafeBytes {
            ChatRestore.outcome(scan, body: $0, pending: plan.pending, found: plan.pending.map { $0.keys.map { _ in value } }, policy: policy)
        }
        XCTAssertEqual(outcome.actions.map(\.action), [.placeholder])
        let out = try body.withUnsafeBytes { try JSONSplicer.apply(outcome.edits, to: $0) }
        XCTAssertTrue(String(decoding: out, as: UTF8.self).contains(#""reasoning_content":" ""#))
    }

    func testTextualizeAndStripKeepResultsWithTheirCalls() throws {
        let request = #"{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"let me see"},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"R1"},{"type":"text","text":"more"}]}]}"#
        let textualize = RestorePolicy(scope: .toolCalls, strategy: .textualize, placeholder: [32], thinking: true)
        let t = try restored(request, stored: nil, policy: textualize)
        XCTAssertTrue(t.contains(#"[tool call] f({\"a\":1})"#), t)
        XCTAssertTrue(t.contains(#"[tool result f] R1"#), t)
        XCTAssertFalse(t.contains("tool_use"))
        let strip = RestorePolicy(scope: .toolCalls, strategy: .strip, placeholder: [32], thinking: true)
        let s = try restored(request, stored: nil, policy: strip)
        XCTAssertFalse(s.contains("tool_use") || s.contains("tool_result"), s)
        XCTAssertTrue(s.contains(#""let me see""#) && s.contains(#""more""#), s)
    }

    func testTheStoredFormatRoundTripsAndRefusesDamage() {
        let t = AnthropicThinking(issuer: "x", blocks: [.init(before: 2, bytes: bytes(#"{"type":"thinking"}"#))])
        XCTAssertEqual(AnthropicThinking(decoding: t.encoded), t)
        XCTAssertNil(AnthropicThinking(decoding: Array(t.encoded.dropLast())))
        XCTAssertNil(AnthropicThinking(decoding: AnthropicThinking(issuer: "x", blocks: [.init(before: 0, bytes: bytes("[1]"))]).encoded))
        XCTAssertNil(AnthropicThinking(decoding: []))
        XCTAssertTrue(StoredReasoning(text: t.encoded, format: .anthropicThinking, storedAtMilliseconds: 0).isWellFormed)
        XCTAssertFalse(StoredReasoning(text: [9, 9], format: .anthropicThinking, storedAtMilliseconds: 0).isWellFormed)
    }
}
