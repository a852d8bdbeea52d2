import XCTest

@testable import ThinkbackSimCore

/// Streams parse with a standard SSE client into valid JSON chunks in the documented order,
/// and their fragments add up to the non-stream answer for the same seed.
final class StreamTests: XCTestCase {
    func openAIChunks(_ response: SimResponse, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
        guard case .stream(let status, let headers, let events, _) = response else {
            XCTFail("not a stream: \(bodyText(response))", file: file, line: line)
            return []
        }
        XCTAssertEqual(status, 200, file: file, line: line)
        XCTAssertTrue(headers.contains { $0.0 == "Content-Type" && $0.1 == "text/event-stream" }, file: file, line: line)
        // Each element is exactly one complete event.
        for e in events { XCTAssertEqual(parseSSE(e).events.count, 1, file: file, line: line) }
        let (parsed, trailing) = parseSSE(response.body)
        XCTAssertEqual(trailing, "", file: file, line: line)
        XCTAssertEqual(parsed.last?.data, "[DONE]", file: file, line: line)
        return parsed.dropLast().map { foundationJSON($0.data, file: file, line: line) }
    }

    struct Assembled {
        var reasoning: String?
        var content = ""
        var calls: [(id: String, name: String, arguments: String)] = []
        var finishReason: String?
        var usage: [String: Any]?
    }

    /// Reassembles a stream the way an OpenAI client does, checking the documented order.
    func assemble(_ chunks: [[String: Any]], file: StaticString = #filePath, line: UInt = #line) -> Assembled {
        var out = Assembled()
        enum Phase: Int { case start, reasoning, output, finish, usage }
        var phase = Phase.start
        let id = chunks.first?["id"] as? String
        for (i, chunk) in chunks.enumerated() {
            XCTAssertEqual(chunk["id"] as? String, id, file: file, line: line)
            XCTAssertEqual(chunk["object"] as? String, "chat.completion.chunk", file: file, line: line)
            XCTAssertNotNil(chunk["created"] as? Int, file: file, line: line)
            XCTAssertNotNil(chunk["model"] as? String, file: file, line: line)
            let choices = chunk["choices"] as! [[String: Any]]
            if choices.isEmpty {
                XCTAssertEqual(phase, .finish, "usage chunk follows the finish chunk", file: file, line: line)
                out.usage = chunk["usage"] as? [String: Any]
                phase = .usage
                continue
            }
            let choice = choices[0]
            let delta = choice["delta"] as! [String: Any]
            XCTAssertEqual(Set(delta.keys), ["content", "role", "tool_calls", "reasoning_content"], file: file, line: line)
            if i == 0 {
                XCTAssertEqual(delta["content"] as? String, "", file: file, line: line)
                XCTAssertEqual(delta["role"] as? String, "assistant", file: file, line: line)
                XCTAssertTrue(delta["tool_calls"] is NSNull && delta["reasoning_content"] is NSNull, file: file, line: line)
                continue
            }
            XCTAssertTrue(delta["role"] is NSNull, file: file, line: line)
            if let finish = choice["finish_reason"] as? String {
                XCTAssertTrue(phase.rawValue < Phase.finish.rawValue, file: file, line: line)
                XCTAssertTrue(chunk["usage"] is NSNull, "finish chunk has usage null", file: file, line: line)
                XCTAssertTrue(delta.values.allSatisfy { $0 is NSNull }, file: file, line: line)
                out.finishReason = finish
                phase = .finish
                continue
            }
            let present = delta.filter { !($0.value is NSNull) }
            XCTAssertEqual(present.count, 1, "one member per fragment", file: file, line: line)
            if let r = delta["reasoning_content"] as? String {
                XCTAssertTrue(phase == .start || phase == .reasoning, "reasoning first", file: file, line: line)
                phase = .reasoning
                out.reasoning = (out.reasoning ?? "") + r
            } else if let c = delta["content"] as? String {
                phase = .output
                out.content += c
            } else if let calls = delta["tool_calls"] as? [[String: Any]] {
                phase = .output
                for call in calls {
                    let index = call["index"] as! Int
                    let function = call["function"] as! [String: Any]
                    if index == out.calls.count {
                        XCTAssertEqual(call["type"] as? String, "function", file: file, line: line)
                        XCTAssertEqual(function["arguments"] as? String, "", file: file, line: line)
                        out.calls.append((call["id"] as! String, function["name"] as! String, ""))
                    } else {
                        XCTAssertEqual(index, out.calls.count - 1, file: file, line: line)
                        XCTAssertNil(call["id"], file: file, line: line)
                        out.calls[index].arguments += function["arguments"] as! String
                    }
                }
            }
        }
        XCTAssertEqual(phase, .usage, file: file, line: line)
        return out
    }

    func compareWithNonStream(_ body: [String: Any], headers: [(String, String)] = [], seed: UInt64 = 7,
                              file: StaticString = #filePath, line: UInt = #line) {
        var streamBody = body
        streamBody["stream"] = true
        let streamed = Client(sim: makeSim(SimConfig(seed: seed))).chat(streamBody, headers: headers)
        let whole = Client(sim: makeSim(SimConfig(seed: seed))).chat(body, headers: headers)
        let a = assemble(openAIChunks(streamed, file: file, line: line), file: file, line: line)
        let obj = foundationJSON(whole.body, file: file, line: line)
        let choice = (obj["choices"] as! [[String: Any]])[0]
        let message = choice["message"] as! [String: Any]
        XCTAssertEqual(a.reasoning.map { Array($0.utf8) }, (message["reasoning_content"] as? String).map { Array($0.utf8) },
                       file: file, line: line)
        XCTAssertEqual(Array(a.content.utf8), Array((message["content"] as! String).utf8), file: file, line: line)
        XCTAssertEqual(a.finishReason, choice["finish_reason"] as? String, file: file, line: line)
        let calls = message["tool_calls"] as? [[String: Any]] ?? []
        XCTAssertEqual(a.calls.count, calls.count, file: file, line: line)
        for (s, w) in zip(a.calls, calls) {
            let f = w["function"] as! [String: Any]
            XCTAssertEqual(s.id, w["id"] as? String, file: file, line: line)
            XCTAssertEqual(s.name, f["name"] as? String, file: file, line: line)
            XCTAssertEqual(s.arguments, f["arguments"] as? String, file: file, line: line)
        }
        XCTAssertEqual(a.usage?["total_tokens"] as? Int, (obj["usage"] as? [String: Any])?["total_tokens"] as? Int,
                       file: file, line: line)
        XCTAssertEqual(obj["id"] as? String, foundationJSON(streamed.events.first!.dropFirst(6).dropLast(2).map { $0 })["id"] as? String,
                       file: file, line: line)
    }

    func testTheTestSSEParserFollowsTheStandard() {
        let (events, trailing) = parseSSE(Array(": comment\r\nevent: a\r\ndata:x\r\ndata:  y\r\n\r\ndata: z\rdata\n\ndata: partial".utf8))
        XCTAssertEqual(events, [SSEEvent(event: "a", data: "x\n y"), SSEEvent(event: nil, data: "z\n")])
        XCTAssertEqual(trailing, "data: partial")
    }

    func testAnswerStreamEqualsNonStreamAnswer() {
        compareWithNonStream(["model": "mimo-v2.5-pro", "messages": [["role": "user", "content": "Tips?"]]])
    }

    func testToolCallStreamEqualsNonStreamAnswer() {
        for n in ["1", "2"] {
            compareWithNonStream(toolRequest([["role": "user", "content": "Weather?"]]), headers: [("x-sim-tool-calls", n)])
        }
    }

    func testFragmentSizesFromOneByteUpAssembleTheSame() {
        for size in ["1", "3", "64", "100000"] {
            compareWithNonStream(
                toolRequest([["role": "user", "content": "Weather?"]]), headers: [("x-sim-fragment", size)], seed: 99)
        }
    }

    func testThinkingOffStreamHasNoReasoningFragments() {
        let r = Client(sim: makeSim()).chat(["model": "mimo-v2-flash", "stream": true, "messages": [["role": "user", "content": "x"]]])
        let a = assemble(openAIChunks(r))
        XCTAssertNil(a.reasoning)
        XCTAssertFalse(a.content.isEmpty)
    }

    func testStreamChunksMatchTheDocumentedBytes() {
        let r = Client(sim: makeSim()).chat(["model": "mimo-v2.5-pro", "stream": true, "messages": [["role": "user", "content": "x"]]])
        guard case .stream(_, _, let events, _) = r else { return XCTFail() }
        let first = String(decoding: events[0], as: UTF8.self)
        XCTAssertTrue(first.hasPrefix(#"data: {"id":""#))
        XCTAssertTrue(first.contains(
            #""choices":[{"delta":{"content":"","role":"assistant","tool_calls":null,"reasoning_content":null},"finish_reason":null,"index":0}],"created":1781233054,"model":"mimo-v2.5-pro","object":"chat.completion.chunk"}"#
        ))
        XCTAssertTrue(first.hasSuffix("}\n\n"))
        let second = String(decoding: events[1], as: UTF8.self)
        XCTAssertTrue(second.contains(#"{"delta":{"content":null,"role":null,"tool_calls":null,"reasoning_content":""#))
        let finish = String(decoding: events[events.count - 3], as: UTF8.self)
        XCTAssertTrue(finish.contains(
            #"{"delta":{"content":null,"role":null,"tool_calls":null,"reasoning_content":null},"finish_reason":"stop","index":0}]"#))
        XCTAssertTrue(finish.hasSuffix(#""object":"chat.completion.chunk","usage":null}"# + "\n\n"))
        XCTAssertTrue(String(decoding: events[events.count - 2], as: UTF8.self).contains(#""choices":[],"#))
        XCTAssertEqual(String(decoding: events.last!, as: UTF8.self), "data: [DONE]\n\n")
    }

    func testFragmentsNeverSplitAUTF8Sequence() {
        let r = Client(sim: makeSim()).chat(
            ["model": "mimo-v2.5-pro", "stream": true, "messages": [["role": "user", "content": "x"]]],
            headers: [("x-sim-fragment", "1")])
        guard case .stream(_, _, let events, _) = r else { return XCTFail() }
        for e in events { XCTAssertNotNil(String(validating: e, as: UTF8.self)) }
    }

    func testAnthropicStreamHasTheStandardEventsAndAssemblesToTheMessage() {
        let body: [String: Any] = [
            "model": "mimo-v2.5-pro", "max_tokens": 100, "tools": anthropicTools,
            "messages": [["role": "user", "content": "Weather?"]],
        ]
        var streamBody = body
        streamBody["stream"] = true
        let streamed = Client(sim: makeSim()).messages(streamBody)
        let whole = foundationJSON(Client(sim: makeSim()).messages(body).body)
        let (events, trailing) = parseSSE(streamed.body)
        XCTAssertEqual(trailing, "")
        var names: [String] = []
        var blocks: [[String: Any]] = []
        var partial: [Int: String] = [:]
        var stopReason: String?
        for e in events {
            let data = foundationJSON(e.data)
            XCTAssertEqual(data["type"] as? String, e.event, "event line names the data type")
            names.append(e.event!)
            switch e.event {
            case "content_block_start":
                XCTAssertEqual(data["index"] as? Int, blocks.count)
                blocks.append(data["content_block"] as! [String: Any])
            case "content_block_delta":
                let i = data["index"] as! Int
                let delta = data["delta"] as! [String: Any]
                switch delta["type"] as! String {
                case "thinking_delta": blocks[i]["thinking"] = (blocks[i]["thinking"] as! String) + (delta["thinking"] as! String)
                case "signature_delta": blocks[i]["signature"] = delta["signature"]
                case "text_delta": blocks[i]["text"] = (blocks[i]["text"] as! String) + (delta["text"] as! String)
                case "input_json_delta": partial[i, default: ""] += delta["partial_json"] as! String
                default: XCTFail("unknown delta")
                }
            case "message_delta": stopReason = (data["delta"] as! [String: Any])["stop_reason"] as? String
            default: break
            }
        }
        for (i, json) in partial { blocks[i]["input"] = foundationJSON(json) }
        XCTAssertEqual(names.first, "message_start")
        XCTAssertEqual(names[1], "ping")
        XCTAssertEqual(Array(names.suffix(2)), ["message_delta", "message_stop"])
        XCTAssertEqual(stopReason, whole["stop_reason"] as? String)
        XCTAssertEqual(blocks.count, (whole["content"] as! [Any]).count)
        XCTAssertEqual(
            NSArray(array: blocks), NSArray(array: whole["content"] as! [Any]), "stream blocks equal the message's blocks")
    }
}

extension SimResponse {
    var events: [[UInt8]] {
        if case .stream(_, _, let events, _) = self { return events }
        return [body]
    }
}
