/// Writes a scripted turn in the Anthropic Messages format, non-stream and with the standard
/// stream events (provider-protocol.md "Anthropic-compatible format").
enum AnthropicRenderer {
    static func stopReason(_ turn: ScriptedTurn) -> String { turn.toolCalls.isEmpty ? "end_turn" : "tool_use" }

    /// MiMo and Cloudsway sign thinking with `""`; DeepSeek with the message UUID.
    static func signature(_ turn: ScriptedTurn, flavor: SimFlavor) -> String {
        guard flavor == .deepseek else { return "" }
        let h = Array(turn.responseID)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(h[$0]) }.joined(separator: "-")
    }

    /// The text block is written when there is text or nothing else to say.
    static func hasTextBlock(_ turn: ScriptedTurn) -> Bool { !turn.content.isEmpty || turn.toolCalls.isEmpty }

    /// The `message` body. `textFirst` is Cloudsway's documented layout: text first, thinking
    /// last with `signature` before `thinking`. With `astral`, every non-ASCII character is
    /// written escaped.
    static func message(
        _ turn: ScriptedTurn, model: String, flavor: SimFlavor, textFirst: Bool, astral: Bool = false
    ) -> [UInt8] {
        let sig = signature(turn, flavor: flavor)
        var blocks: [SimJSON] = []
        if let r = turn.reasoning, !textFirst {
            blocks.append(["type": "thinking", "thinking": .string(r), "signature": .string(sig)])
        }
        if hasTextBlock(turn) { blocks.append(["type": "text", "text": .string(turn.content)]) }
        for call in turn.toolCalls {
            blocks.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.input])
        }
        if let r = turn.reasoning, textFirst {
            blocks.append(["type": "thinking", "signature": .string(sig), "thinking": .string(r)])
        }
        let body: SimJSON = [
            "id": .string(turn.responseID), "type": "message", "role": "assistant", "content": .array(blocks),
            "model": .string(model), "stop_reason": .string(stopReason(turn)), "stop_sequence": .null,
            "usage": ["input_tokens": .int(turn.promptTokens), "output_tokens": .int(turn.completionTokens)],
        ]
        return astral ? body.asciiBytes : body.bytes
    }

    /// The stream: `message_start`, `ping`, one `content_block_start`/`_delta`…/`_stop` run per
    /// block (thinking with `thinking_delta` pieces then a `signature_delta`; text with
    /// `text_delta`; tool_use with `input_json_delta`), `message_delta`, `message_stop`. With
    /// `astral`, every event is ASCII-only JSON and the thinking is cut every `fragmentSize`
    /// UTF-16 code units, splitting surrogate pairs.
    static func streamEvents(
        _ turn: ScriptedTurn, model: String, flavor: SimFlavor, fragmentSize: Int, astral: Bool = false
    ) -> [[UInt8]] {
        func event(_ name: String, _ json: SimJSON) -> [UInt8] { Self.event(name, json, asciiOnly: astral) }
        var events: [[UInt8]] = []
        let start: SimJSON = [
            "type": "message_start",
            "message": [
                "id": .string(turn.responseID), "type": "message", "role": "assistant", "content": [],
                "model": .string(model), "stop_reason": .null, "stop_sequence": .null,
                "usage": ["input_tokens": .int(turn.promptTokens), "output_tokens": 1],
            ],
        ]
        events.append(event("message_start", start))
        // Anthropic sends this one spelled with a space.
        events.append(Array("event: ping\ndata: {\"type\": \"ping\"}\n\n".utf8))

        var index = 0
        func block(_ start: SimJSON, deltas: [SimJSON]) {
            events.append(event("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": start]))
            for d in deltas {
                events.append(event("content_block_delta", ["type": "content_block_delta", "index": .int(index), "delta": d]))
            }
            events.append(event("content_block_stop", ["type": "content_block_stop", "index": .int(index)]))
            index += 1
        }
        if let r = turn.reasoning {
            var deltas: [SimJSON] = ScriptedModel.reasoningPieces(r, size: fragmentSize, astral: astral).map {
                ["type": "thinking_delta", "thinking": $0]
            }
            deltas.append(["type": "signature_delta", "signature": .string(signature(turn, flavor: flavor))])
            block(["type": "thinking", "thinking": "", "signature": ""], deltas: deltas)
        }
        if hasTextBlock(turn) {
            block(
                ["type": "text", "text": ""],
                deltas: ScriptedModel.fragments(turn.content, size: fragmentSize).map {
                    ["type": "text_delta", "text": .string($0)]
                })
        }
        for call in turn.toolCalls {
            let json = String(decoding: call.input.bytes, as: UTF8.self)
            block(
                ["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": [:]],
                deltas: ScriptedModel.fragments(json, size: fragmentSize).map {
                    ["type": "input_json_delta", "partial_json": .string($0)]
                })
        }
        let delta: SimJSON = [
            "type": "message_delta", "delta": ["stop_reason": .string(stopReason(turn)), "stop_sequence": .null],
            "usage": ["output_tokens": .int(turn.completionTokens)],
        ]
        events.append(event("message_delta", delta))
        events.append(event("message_stop", ["type": "message_stop"]))
        return events
    }

    /// `event: <name>\ndata: <json>\n\n`.
    static func event(_ name: String, _ json: SimJSON, asciiOnly: Bool = false) -> [UInt8] {
        var out = Array("event: \(name)\ndata: ".utf8)
        json.write(into: &out, asciiOnly: asciiOnly)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }
}
