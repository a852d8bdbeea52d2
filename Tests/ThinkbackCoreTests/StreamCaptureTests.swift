import XCTest
@testable import ThinkbackCore

/// Streams shaped like MiMo's (provider-protocol.md, "Stream response").
enum MiMoStream {
    static func chunk(_ delta: String, finish: String = "null", usage: String = "") -> String {
        #"{"id":"2b92","object":"chat.completion.chunk","created":1781233054,"model":"mimo-v2.5-pro","choices":[{"index":0,"delta":"#
            + delta + #","finish_reason":"# + finish + "}]" + usage + "}"
    }

    static let usageChunk = #"{"id":"2b92","object":"chat.completion.chunk","created":1781233054,"model":"mimo-v2.5-pro","choices":[],"usage":{"completion_tokens":171,"prompt_tokens":60,"total_tokens":231}}"#

    /// The data of each event, in order, of a stream answering with reasoning then text.
    static let textAnswer: [String] = [
        chunk(#"{"content":"","role":"assistant","tool_calls":null,"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":null,"reasoning_content":"Let me \"think\""}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":null,"reasoning_content":"\n\u5317\u4eac "}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":null,"reasoning_content":"😀 done."}"#),
        chunk(#"{"content":"Hello","role":null,"tool_calls":null,"reasoning_content":null}"#),
        chunk(#"{"content":", world!\n","role":null,"tool_calls":null,"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":null,"reasoning_content":null}"#, finish: #""stop""#, usage: #","usage":null"#),
        usageChunk,
        "[DONE]",
    ]

    /// A stream answering with two tool calls in OpenAI's indexed fragments.
    static let toolAnswer: [String] = [
        chunk(#"{"content":"","role":"assistant","tool_calls":null,"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":null,"reasoning_content":"Need weather."}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}],"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}],"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":[{"index":0,"function":{"arguments":" \"\u5317\u4eac\"}"}}],"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}],"reasoning_content":null}"#),
        chunk(#"{"content":null,"role":null,"tool_calls":null,"reasoning_content":null}"#, finish: #""tool_calls""#, usage: #","usage":null"#),
        usageChunk,
        "[DONE]",
    ]

    /// The same events framed as SSE.
    static func sse(_ events: [String], lineEnd: String = "\n") -> [UInt8] {
        utf8(events.map { "data: " + $0 + lineEnd + lineEnd }.joined())
    }
}

final class StreamCaptureTests: XCTestCase {
    func capture(_ events: [String]) -> StreamCapture {
        var capture = StreamCapture()
        for e in events { capture.feed(utf8(e)) }
        return capture
    }

    func testAssemblesReasoningAndContentOfACompleteStream() throws {
        let capture = capture(MiMoStream.textAnswer)
        XCTAssertTrue(capture.isComplete)
        let result = try XCTUnwrap(capture.result())
        XCTAssertEqual(result, [CapturedChoice(index: 0, reasoning: utf8("Let me \"think\"\n北京 😀 done."),
                                               content: utf8("Hello, world!"), toolCalls: [], finishReason: "stop")])
    }

    func testJoinsToolCallFragmentsByIndex() throws {
        let result = try XCTUnwrap(capture(MiMoStream.toolAnswer).result())
        XCTAssertEqual(result.count, 1)
        XCTAssertEqual(result[0].reasoning.map(text), "Need weather.")
        XCTAssertEqual(result[0].content, [])
        XCTAssertEqual(result[0].finishReason, "tool_calls")
        XCTAssertEqual(result[0].toolCalls, [
            CapturedToolCall(id: "call_a", name: "get_weather", arguments: utf8(#"{"city": "北京"}"#)),
            CapturedToolCall(id: "call_b", name: "get_time", arguments: utf8("{}")),
        ])
    }

    func testCutOffStreamYieldsNothing() {
        for cut in 0 ..< MiMoStream.textAnswer.count - 1 {
            let capture = capture(Array(MiMoStream.textAnswer.prefix(cut)))
            XCTAssertFalse(capture.isComplete)
            XCTAssertNil(capture.result(), "cut after \(cut) events")
        }
        // [DONE] without any finish reason (the finish chunk lost) is not complete either.
        var withoutFinish = MiMoStream.textAnswer
        withoutFinish.remove(at: 6)
        XCTAssertNil(capture(withoutFinish).result())
    }

    func testMalformedChunkMeansNoCapture() {
        var events = MiMoStream.textAnswer
        events.insert(#"{"choices":[{"index":0,"delta":{"content":"x"}"#, at: 3)
        let capture = capture(events)
        XCTAssertTrue(capture.isMalformed)
        XCTAssertNil(capture.result())
    }

    func testStreamWithoutReasoningRecordsAbsentReasoning() throws {
        let events = [
            MiMoStream.chunk(#"{"role":"assistant","content":"Hi"}"#),
            MiMoStream.chunk(#"{}"#, finish: #""stop""#),
            "[DONE]",
        ]
        let result = try XCTUnwrap(capture(events).result())
        XCTAssertNil(result[0].reasoning)
        XCTAssertEqual(text(result[0].content), "Hi")
    }

    func testSeveralChoicesAreKeptApart() throws {
        let events = [
            #"{"choices":[{"index":1,"delta":{"reasoning_content":"b1"}},{"index":0,"delta":{"reasoning_content":"a1"}}]}"#,
            #"{"choices":[{"index":0,"delta":{"reasoning_content":"a2","content":"A"},"finish_reason":"stop"}]}"#,
            #"{"choices":[{"index":1,"delta":{"content":"B","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{"}},{"function":{"arguments":"}"}}]},"finish_reason":"length"}]}"#,
            "[DONE]",
        ]
        let result = try XCTUnwrap(capture(events).result())
        XCTAssertEqual(result.map(\.index), [0, 1])
        XCTAssertEqual(result.map { $0.reasoning.map(text) }, ["a1a2", "b1"])
        XCTAssertEqual(result.map { text($0.content) }, ["A", "B"])
        XCTAssertEqual(result[1].toolCalls, [CapturedToolCall(id: "c", name: "f", arguments: utf8("{}"))])
        XCTAssertEqual(result.map(\.finishReason), ["stop", "length"])
    }

    func testEventsAfterDoneAreIgnored() throws {
        var events = MiMoStream.textAnswer
        events.append(MiMoStream.chunk(#"{"content":"late"}"#))
        events.append("not json")
        let result = try XCTUnwrap(capture(events).result())
        XCTAssertEqual(text(result[0].content), "Hello, world!")
    }

    func testFragmentsWithoutIndexContinueTheLatestCall() throws {
        let events = [
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\""}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
            #"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]
        let result = try XCTUnwrap(capture(events).result())
        XCTAssertEqual(result[0].toolCalls, [
            CapturedToolCall(id: "a", name: "f", arguments: utf8(#"{"x":1}"#)),
            CapturedToolCall(id: "b", name: "g", arguments: utf8("{}")),
        ])
    }

    func testChunkScanReportsNullMembersAsAbsent() throws {
        let data = utf8(MiMoStream.textAnswer[0])
        let chunk = try ChatChunkScan(data)
        XCTAssertEqual(chunk.choices.count, 1)
        XCTAssertEqual(chunk.choices[0].role, "assistant")
        XCTAssertNil(chunk.choices[0].reasoning)
        XCTAssertEqual(chunk.choices[0].content?.isEmpty, true)
        XCTAssertEqual(chunk.choices[0].toolCalls, [])
        XCTAssertNil(chunk.choices[0].finishReason)
        XCTAssertEqual(try ChatChunkScan(utf8(MiMoStream.usageChunk)).choices, [])
    }

    func testFedThroughTheSSEParserAtEverySplit() throws {
        let stream = MiMoStream.sse(MiMoStream.toolAnswer, lineEnd: "\r\n")
        let expected = try XCTUnwrap(capture(MiMoStream.toolAnswer).result())
        for split in stride(from: 0, through: stream.count, by: 7) {
            var parser = SSEParser()
            var capture = StreamCapture()
            parser.feed(Array(stream[..<split])) { capture.feed($0.data) }
            parser.feed(Array(stream[split...])) { capture.feed($0.data) }
            XCTAssertEqual(capture.result(), expected, "split at \(split)")
        }
    }
}
