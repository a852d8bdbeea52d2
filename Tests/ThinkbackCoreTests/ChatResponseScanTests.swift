import XCTest
@testable import ThinkbackCore

final class ChatResponseScanTests: XCTestCase {
    func testReadsMiMoNonStreamResponse() throws {
        let body = utf8(#"""
        {"id":"2b92","object":"chat.completion","created":1781233054,"model":"mimo-v2.5-pro",
         "choices":[{"index":0,"finish_reason":"stop",
           "message":{"role":"assistant","content":"  The answer\n","tool_calls":null,"reasoning_content":"Think \"hard\"\n\u5317"}}],
         "usage":{"completion_tokens":171,"prompt_tokens":60,"total_tokens":231,
           "completion_tokens_details":{"reasoning_tokens":110},"prompt_tokens_details":{}}}
        """#)
        let scan = try ChatResponseScan(body)
        XCTAssertEqual(scan.model, "mimo-v2.5-pro")
        XCTAssertEqual(scan.choices.count, 1)
        let c = scan.choices[0]
        XCTAssertEqual(c.index, 0)
        XCTAssertEqual(c.finishReason, "stop")
        XCTAssertEqual(c.reasoning.map(text), "Think \"hard\"\n北")
        XCTAssertEqual(text(c.content), "The answer")
        XCTAssertEqual(c.toolCalls, [])
        XCTAssertEqual(body[scan.messageRanges[0].lowerBound], UInt8(ascii: "{"))
    }

    func testReadsToolCallsAndAbsentReasoning() throws {
        let body = utf8(#"""
        {"choices":[
          {"message":{"content":"","tool_calls":[
             {"id":"call_1","type":"function","function":{"name":"read","arguments":"{\"path\":\"a b\"}"}},
             {"type":"function","function":{"arguments":"{}","name":"ls"},"id":"call_2"}]},
           "finish_reason":"tool_calls","index":1},
          {"index":0,"message":{"content":[{"type":"text","text":"x"}],"reasoning_content":null},"finish_reason":null},
          7
        ]}
        """#)
        let scan = try ChatResponseScan(body)
        XCTAssertEqual(scan.choices.map(\.index), [1, 0])
        XCTAssertNil(scan.choices[0].reasoning)
        XCTAssertEqual(scan.choices[0].toolCalls, [
            CapturedToolCall(id: "call_1", name: "read", arguments: utf8(#"{"path":"a b"}"#)),
            CapturedToolCall(id: "call_2", name: "ls", arguments: utf8("{}")),
        ])
        XCTAssertEqual(scan.choices[0].finishReason, "tool_calls")
        XCTAssertNil(scan.choices[1].reasoning)
        XCTAssertEqual(text(scan.choices[1].content), "x")
        XCTAssertNil(scan.choices[1].finishReason)
    }

    func testEmptyReasoningIsPresentAndEmpty() throws {
        let scan = try ChatResponseScan(utf8(#"{"choices":[{"index":0,"message":{"reasoning_content":""}}]}"#))
        XCTAssertEqual(scan.choices[0].reasoning, [])
    }

    func testInvalidResponseThrows() {
        XCTAssertThrowsError(try ChatResponseScan(utf8(#"{"choices":[{"index":0,}]}"#)))
        XCTAssertEqual(try ChatResponseScan(utf8(#"{"error":{"message":"Param Incorrect"}}"#)).choices, [])
    }
}
