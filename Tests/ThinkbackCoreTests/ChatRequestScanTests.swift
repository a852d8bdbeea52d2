import Foundation
import XCTest
@testable import ThinkbackCore

final class ChatRequestScanTests: XCTestCase {
    static let request = #"""
    {
      "model" : "mimo-v2.5-pro", "stream": true, "temperature": 1.0e0,
      "thinking": {"type": "enabled", "budget": [1, {"x": null}]},
      "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
      "messages": [
        {"role": "system", "content": "You are \"helpful\"\n\u5317"},
        {"role": "user", "content": [{"type": "text", "text": "  What's the "}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "weather in 北京?\n"}]},
        {"role": "assistant", "content": null, "reasoning_content": null,
         "tool_calls": [
           {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"\u5317\u4eac\"}"}},
           {"id": "call_b", "type": "function", "function": {"arguments": "{}", "name": "get_time"}}
         ]},
        {"role": "tool", "tool_call_id": "call_a", "name": "get_weather", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "noon"}]},
        {"role": "assistant", "content": "It is sunny.", "reasoning_content": "I looked it up."},
        {"role": "assistant", "content": "", "reasoning_content": "", "tool_calls": null},
        { }
      ],
      "extra": {"deep": [[[[{"a": "b"}]]]], "n": 123456789012345678901234567890}
    }
    """#

    func testExtractsTopLevelFieldsAndMessages() throws {
        let body = utf8(Self.request)
        let scan = try ChatRequestScan(body)
        XCTAssertEqual(scan.model, "mimo-v2.5-pro")
        XCTAssertEqual(scan.stream, true)
        XCTAssertEqual(scan.thinkingType, "enabled")
        XCTAssertEqual(body[scan.messagesRange.lowerBound], UInt8(ascii: "["))
        XCTAssertEqual(body[scan.messagesRange.upperBound - 1], UInt8(ascii: "]"))
        XCTAssertEqual(scan.messages.map(\.role), ["system", "user", "assistant", "tool", "tool", "assistant", "assistant", nil])
        let m = scan.messages
        XCTAssertEqual(m.map(\.memberCount), [2, 2, 4, 4, 3, 3, 4, 0])
        for message in m {
            XCTAssertEqual(body[message.range.lowerBound], UInt8(ascii: "{"))
            XCTAssertEqual(body[message.closingBraceOffset], UInt8(ascii: "}"))
        }
        body.withUnsafeBytes { raw in
            XCTAssertEqual(text(m[0].normalizedContent(in: raw)), "You are \"helpful\"\n北")
            XCTAssertEqual(text(m[1].normalizedContent(in: raw)), "What's the weather in 北京?")
            XCTAssertEqual(m[1].content.kind, .array)
            XCTAssertEqual(m[2].content.kind, .null)
            XCTAssertEqual(m[2].normalizedContent(in: raw), [])
            XCTAssertEqual(text(m[4].normalizedContent(in: raw)), "noon")
            XCTAssertEqual(text(ChatContentText.text(m[1].content, in: raw)), "  What's the weather in 北京?\n")
            XCTAssertEqual(m[7].content.kind, nil)
        }
        XCTAssertEqual(m.map(\.reasoningState), [.absent, .absent, .null, .absent, .absent, .nonEmpty, .empty, .absent])
        XCTAssertEqual(text(Array(body[m[5].reasoning.memberRange])), #""reasoning_content": "I looked it up.""#)
        XCTAssertEqual(m[2].toolCallsMember.kind, .array)
        XCTAssertEqual(m[6].toolCallsMember.kind, .null)
        XCTAssertEqual(m[5].toolCallsMember.kind, nil)
        XCTAssertEqual(m[2].toolCalls.map(\.id), ["call_a", "call_b"])
        XCTAssertEqual(m[2].toolCalls.map(\.name), ["get_weather", "get_time"])
        body.withUnsafeBytes { raw in
            XCTAssertEqual(m[2].toolCalls[0].argumentsText(in: raw).map(text), #"{"city": "北京"}"#)
            XCTAssertEqual(m[2].toolCalls[1].argumentsText(in: raw).map(text), "{}")
        }
        XCTAssertEqual(m[3].toolCallId, "call_a")
        XCTAssertEqual(m[3].name, "get_weather")
        XCTAssertEqual(m[4].toolCallId, "call_b")
        XCTAssertNil(m[4].name)
    }

    func testDuplicateKeysLastWins() throws {
        let body = utf8(#"{"model":"a","model":"b","messages":[{"role":"user","role":"assistant","reasoning_content":"x","reasoning_content":null}],"stream":true,"stream":false}"#)
        let scan = try ChatRequestScan(body)
        XCTAssertEqual(scan.model, "b")
        XCTAssertEqual(scan.stream, false)
        XCTAssertEqual(scan.messages[0].role, "assistant")
        XCTAssertEqual(scan.messages[0].reasoningState, .null)
        XCTAssertEqual(text(Array(body[scan.messages[0].reasoning.memberRange])), #""reasoning_content":null"#)
    }

    func testEscapedKeysAreRecognised() throws {
        let body = utf8(#"{"m\u006fdel":"x","\u006dessages":[{"r\u006fle":"assistant","reasoning\u005fcontent":"r","tool_c\u0061lls":[{"\u0069d":"c1","function":{"n\u0061me":"f","arguments":"{}"}}]}]}"#)
        let scan = try ChatRequestScan(body)
        XCTAssertEqual(scan.model, "x")
        XCTAssertEqual(scan.messages.count, 1)
        XCTAssertEqual(scan.messages[0].role, "assistant")
        XCTAssertEqual(scan.messages[0].reasoningState, .nonEmpty)
        XCTAssertEqual(scan.messages[0].toolCalls.first?.id, "c1")
        XCTAssertEqual(scan.messages[0].toolCalls.first?.name, "f")
    }

    func testShapeErrorsAreDistinctFromSyntaxErrors() {
        func error(_ s: String) -> ChatRequestScanError? {
            do { _ = try ChatRequestScan(utf8(s)); return nil } catch { return error }
        }
        guard case .shape(let e1)? = error("[1, 2]") else { return XCTFail("array top level") }
        XCTAssertEqual(e1.offset, 0)
        guard case .shape(let e2)? = error(#"{"messages": {"role": "user"}}"#) else { return XCTFail("object messages") }
        XCTAssertEqual(e2.offset, 13)
        guard case .shape? = error(#"{"model": "x"}"#) else { return XCTFail("missing messages") }
        guard case .shape(let e3)? = error(#"{"messages": [{}, "hi"]}"#) else { return XCTFail("string message") }
        XCTAssertEqual(e3.offset, 18)
        // Invalid JSON is a syntax error even when the shape is wrong too.
        guard case .syntax(let s1)? = error(#"[1, 2"#) else { return XCTFail("unterminated array") }
        XCTAssertEqual(s1.offset, 5)
        guard case .syntax? = error(#"{"messages": "x", "a": tru}"#) else { return XCTFail("bad literal") }
        guard case .syntax(let s2)? = error(#"{"messages": [{"content": "a\u0000b\#u{1}"}]}"#) else { return XCTFail("control char") }
        XCTAssertEqual(s2.offset, 35)
        XCTAssertNil(error(#"{"messages": []}"#))
    }

    func testSpliceRoundTripInjectsExactlyTheReasoning() throws {
        let body = utf8(Self.request)
        let scan = try ChatRequestScan(body)
        let reasoning = nastyString
        let encoded = JSONStringEncoder.encode(reasoning)
        // Message 2 has `null` (replaced), message 6 has "" (replaced), message 3 has none (inserted),
        // message 7 is empty (inserted without comma).
        let targets = [2, 3, 6, 7]
        let edits = targets.map { scan.messages[$0].reasoningEdit(encodedValue: encoded) }
        // Encoding straight into the edit gives the same bytes, whatever the text (also
        // ill-formed UTF-8, which becomes U+FFFD either way).
        for text in [utf8(reasoning), [], [0xFF, 0x22, 0x0A, 0xE4, 0xB8]] {
            let encodedText = JSONStringEncoder.encode(text)
            for k in targets {
                XCTAssertEqual(text.withUnsafeBytes { scan.messages[k].reasoningEdit(encoding: $0) },
                               scan.messages[k].reasoningEdit(encodedValue: encodedText), "message \(k)")
            }
        }
        let out = try JSONSplicer.apply(edits, to: body)

        // Foundation reads the injected value back exactly.
        let json = try XCTUnwrap(try foundationObject(out) as? [String: Any])
        let messages = try XCTUnwrap(json["messages"] as? [[String: Any]])
        for k in targets { XCTAssertEqual(messages[k]["reasoning_content"] as? String, reasoning, "message \(k)") }
        XCTAssertEqual(messages[5]["reasoning_content"] as? String, "I looked it up.")
        XCTAssertNil(messages[0]["reasoning_content"])

        // Outside the edits, every byte is the original's.
        var expected: [UInt8] = []
        var from = 0
        var outPos = 0
        for edit in edits.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            expected = Array(body[from ..< edit.range.lowerBound])
            XCTAssertEqual(Array(out[outPos ..< outPos + expected.count]), expected)
            outPos += expected.count + edit.replacement.count
            from = edit.range.upperBound
        }
        XCTAssertEqual(Array(out[outPos...]), Array(body[from...]))

        // And the result scans again, with the states changed as intended.
        let rescan = try ChatRequestScan(out)
        XCTAssertEqual(rescan.messages.map(\.reasoningState), [.absent, .absent, .nonEmpty, .nonEmpty, .absent, .nonEmpty, .nonEmpty, .nonEmpty])
        out.withUnsafeBytes { raw in
            XCTAssertEqual(rescan.messages[7].reasoning.stringSpan?.decodedString(in: raw), reasoning)
        }
    }

    func testRemovalEditsKeepTheArrayValid() throws {
        let body = utf8(#"{"messages": [ {"a":0} , {"a":1},{"a":2}  ,{"a":3}, {"a":4} ]}"#)
        let scan = try ChatRequestScan(body)
        let n = scan.messages.count
        // Every subset of the five messages.
        for mask in 0 ..< (1 << n) {
            let remove = (0 ..< n).filter { mask & (1 << $0) != 0 }
            let out = try JSONSplicer.apply(scan.removalEdits(forMessagesAt: remove), to: body)
            let json = try XCTUnwrap(try foundationObject(out) as? [String: Any], text(out))
            let kept = try XCTUnwrap(json["messages"] as? [[String: Int]]).map { $0["a"]! }
            XCTAssertEqual(kept, (0 ..< n).filter { !remove.contains($0) }, text(out))
        }
    }

    func testRemovalCombinesWithReasoningEditsOnKeptMessages() throws {
        let body = utf8(#"{"messages":[{"role":"assistant"},{"role":"tool"},{"role":"assistant","content":""}]}"#)
        let scan = try ChatRequestScan(body)
        var edits = scan.removalEdits(forMessagesAt: [1])
        edits.append(scan.messages[0].reasoningEdit(encodedValue: utf8("\" \"")))
        edits.append(scan.messages[2].reasoningEdit(encodedValue: utf8("\"r\"")))
        let out = try JSONSplicer.apply(edits, to: body)
        XCTAssertEqual(text(out), #"{"messages":[{"role":"assistant","reasoning_content":" "},{"role":"assistant","content":"","reasoning_content":"r"}]}"#)
    }

    func testContentPartsWithNestedArraysAndOddPartsGiveTheirTextOnly() throws {
        let body = utf8(#"""
        {"messages":[{"role":"user","content":[
          {"type":"text","text":" a\u00e9 ","meta":[[1,[2,{"text":"no"}]]]},
          [["nested array part"]], "bare string part", null, 42,
          {"type":"image_url","image_url":{"url":"data:..."}},
          {"text":null}, {"text":"b","text":"c\n"}
        ]}]}
        """#)
        let scan = try ChatRequestScan(body)
        body.withUnsafeBytes { raw in
            XCTAssertEqual(text(scan.messages[0].normalizedContent(in: raw)), "aé c")
        }
    }

    func testWhitespaceEverywhereAndBigNumbersAreForwardedUntouched() throws {
        let body = utf8(" \r\n\t{ \"n\" : 1e400 , \"big\" : 123456789012345678901234567890 ,\n \"messages\" :\t[ \r\n { \"role\" :\"assistant\" }\n ] }\n ")
        let scan = try ChatRequestScan(body)
        XCTAssertEqual(scan.messages.count, 1)
        let out = try JSONSplicer.apply([scan.messages[0].reasoningEdit(encodedValue: utf8("\"x\""))], to: body)
        XCTAssertEqual(text(out), " \r\n\t{ \"n\" : 1e400 , \"big\" : 123456789012345678901234567890 ,\n \"messages\" :\t[ \r\n { \"role\" :\"assistant\" ,\"reasoning_content\":\"x\"}\n ] }\n ")
    }

    func testNonStringFieldsAreNil() throws {
        let scan = try ChatRequestScan(utf8(#"{"model":1,"stream":"yes","thinking":"on","messages":[{"role":7,"tool_calls":[1,{"id":2,"function":[]}]}]}"#))
        XCTAssertNil(scan.model)
        XCTAssertNil(scan.stream)
        XCTAssertNil(scan.thinkingType)
        XCTAssertNil(scan.messages[0].role)
        XCTAssertEqual(scan.messages[0].toolCalls.count, 2)
        XCTAssertNil(scan.messages[0].toolCalls[1].id)
        XCTAssertNil(scan.messages[0].toolCalls[1].name)
    }
}
