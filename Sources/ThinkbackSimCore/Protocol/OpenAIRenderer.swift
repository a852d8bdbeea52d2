/// Writes a scripted turn in MiMo's OpenAI-compatible format, non-stream and SSE, with the
/// key order of MiMo's documented responses (reference/mimo-deep-thinking.txt).
enum OpenAIRenderer {
    static func finishReason(_ turn: ScriptedTurn) -> String { turn.toolCalls.isEmpty ? "stop" : "tool_calls" }

    static func usage(_ turn: ScriptedTurn) -> SimJSON {
        [
            "completion_tokens": .int(turn.completionTokens), "prompt_tokens": .int(turn.promptTokens),
            "total_tokens": .int(turn.totalTokens),
            "completion_tokens_details": ["reasoning_tokens": .int(turn.reasoningTokens)],
            "prompt_tokens_details": [:],
        ]
    }

    /// The `chat.completion` body. With thinking off `reasoning_content` is absent. With
    /// `astral`, every non-ASCII character is written escaped.
    static func completion(_ turn: ScriptedTurn, model: String, created: Int, astral: Bool = false) -> [UInt8] {
        var message: [SimJSONMember] = [
            SimJSONMember("content", .string(turn.content)),
            SimJSONMember("role", "assistant"),
            SimJSONMember(
                "tool_calls",
                turn.toolCalls.isEmpty
                    ? .null
                    : .array(
                        turn.toolCalls.map {
                            [
                                "id": .string($0.id),
                                "function": ["arguments": .string($0.arguments), "name": .string($0.name)],
                                "type": "function",
                            ]
                        })),
        ]
        if let reasoning = turn.reasoning { message.append(SimJSONMember("reasoning_content", .string(reasoning))) }
        let body: SimJSON = [
            "id": .string(turn.responseID),
            "choices": [["finish_reason": .string(finishReason(turn)), "index": 0, "message": .object(message)]],
            "created": .int(created), "model": .string(model), "object": "chat.completion",
            "usage": usage(turn),
        ]
        return astral ? body.asciiBytes : body.bytes
    }

    /// The SSE events, in the order of provider-protocol.md "Stream response (SSE)": role chunk,
    /// reasoning fragments, content or indexed tool-call fragments, finish chunk, usage chunk
    /// with empty `choices`, `[DONE]`. With `astral`, every event is ASCII-only JSON and the
    /// reasoning is cut every `fragmentSize` UTF-16 code units, splitting surrogate pairs.
    static func streamEvents(
        _ turn: ScriptedTurn, model: String, created: Int, fragmentSize: Int, astral: Bool = false
    ) -> [[UInt8]] {
        func chunk(_ delta: SimJSON, finish: SimJSON = .null, usageNull: Bool = false) -> [UInt8] {
            var members: [SimJSONMember] = [
                SimJSONMember("id", .string(turn.responseID)),
                SimJSONMember("choices", [["delta": delta, "finish_reason": finish, "index": 0]]),
                SimJSONMember("created", .int(created)),
                SimJSONMember("model", .string(model)),
                SimJSONMember("object", "chat.completion.chunk"),
            ]
            if usageNull { members.append(SimJSONMember("usage", .null)) }
            return event(.object(members), asciiOnly: astral)
        }
        func delta(content: SimJSON = .null, role: SimJSON = .null, toolCalls: SimJSON = .null, reasoning: SimJSON = .null)
            -> SimJSON
        {
            ["content": content, "role": role, "tool_calls": toolCalls, "reasoning_content": reasoning]
        }

        var events: [[UInt8]] = [chunk(delta(content: "", role: "assistant"))]
        for piece in ScriptedModel.reasoningPieces(turn.reasoning ?? "", size: fragmentSize, astral: astral) {
            events.append(chunk(delta(reasoning: piece)))
        }
        if turn.toolCalls.isEmpty {
            for piece in ScriptedModel.fragments(turn.content, size: fragmentSize) {
                events.append(chunk(delta(content: .string(piece))))
            }
        } else {
            for (i, call) in turn.toolCalls.enumerated() {
                let head: SimJSON = [
                    "index": .int(i), "id": .string(call.id), "type": "function",
                    "function": ["name": .string(call.name), "arguments": ""],
                ]
                events.append(chunk(delta(toolCalls: [head])))
                for piece in ScriptedModel.fragments(call.arguments, size: fragmentSize) {
                    let part: SimJSON = ["index": .int(i), "function": ["arguments": .string(piece)]]
                    events.append(chunk(delta(toolCalls: [part])))
                }
            }
        }
        events.append(chunk(delta(), finish: .string(finishReason(turn)), usageNull: true))
        let usageChunk: SimJSON = [
            "id": .string(turn.responseID), "choices": [], "created": .int(created), "model": .string(model),
            "object": "chat.completion.chunk", "usage": usage(turn),
        ]
        events.append(event(usageChunk, asciiOnly: astral))
        events.append(Array("data: [DONE]\n\n".utf8))
        return events
    }

    /// `data: <json>\n\n`.
    static func event(_ json: SimJSON, asciiOnly: Bool = false) -> [UInt8] {
        var out = Array("data: ".utf8)
        json.write(into: &out, asciiOnly: asciiOnly)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }
}
