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

    /// How an answer's blocks are laid out (the knobs of issue 19).
    struct Layout {
        var textFirst = false
        var interleaved = false
        var redacted = false
        var omitted = false

        init(textFirst: Bool = false, interleaved: Bool = false, redacted: Bool = false, omitted: Bool = false) {
            self.textFirst = textFirst
            self.interleaved = interleaved
            self.redacted = redacted
            self.omitted = omitted
        }

        init(_ knobs: SimKnobs) {
            self.init(textFirst: knobs.textBlockFirst, interleaved: knobs.interleavedThinking,
                      redacted: knobs.redactedThinking, omitted: knobs.omittedThinking)
        }
    }

    /// One content block of an answer.
    enum Block {
        case thinking(text: String, signature: String)
        case redacted(data: String)
        case text(String)
        case toolUse(ScriptedToolCall)
    }

    /// The answer's blocks in order: thinking first (one block, or with `interleaved` one per
    /// tool call, the reasoning cut between them), a `redacted_thinking` block after the first,
    /// the text, the tool calls; with `textFirst` (Cloudsway) the text first and the thinking
    /// last. `omitted`: the thinking's text left out, a signature kept.
    static func blocks(_ turn: ScriptedTurn, flavor: SimFlavor, layout: Layout) -> [Block] {
        var thinking: [Block] = []
        if let r = turn.reasoning {
            let sig = layout.omitted ? "sig-omitted-" + turn.responseID : signature(turn, flavor: flavor)
            let parts = layout.interleaved && turn.toolCalls.count > 1 ? split(r, into: turn.toolCalls.count) : [r]
            thinking = parts.map { .thinking(text: layout.omitted ? "" : $0, signature: sig) }
            if layout.redacted { thinking.insert(.redacted(data: "opaque-" + turn.responseID), at: 1) }
        }
        let text: [Block] = hasTextBlock(turn) ? [.text(turn.content)] : []
        if layout.textFirst {
            return text + turn.toolCalls.map { .toolUse($0) } + thinking
        }
        guard layout.interleaved, turn.toolCalls.count > 1, !thinking.isEmpty else {
            return thinking + text + turn.toolCalls.map { .toolUse($0) }
        }
        // Before each call its own piece of thinking; the redacted block stays after the first.
        var out: [Block] = []
        var pieces = thinking.filter { if case .thinking = $0 { true } else { false } }
        let redacted = thinking.filter { if case .redacted = $0 { true } else { false } }
        out.append(pieces.removeFirst())
        out += redacted
        out += text
        for (n, call) in turn.toolCalls.enumerated() {
            if n > 0, !pieces.isEmpty { out.append(pieces.removeFirst()) }
            out.append(.toolUse(call))
        }
        return out
    }

    /// `text` cut into `n` pieces of about equal length (by characters).
    static func split(_ text: String, into n: Int) -> [String] {
        let chars = Array(text)
        let size = max(1, (chars.count + n - 1) / n)
        var parts = stride(from: 0, to: chars.count, by: size).map { String(chars[$0 ..< min($0 + size, chars.count)]) }
        while parts.count < n { parts.append("") }
        return parts
    }

    /// What the ledger compares for an Anthropic answer (issue 19: `exact` only with the
    /// issued text, signature, position and order): the blocks in order, thinking with its
    /// text and signature, redacted with its data, every other block as `_`.
    static func layoutText(_ blocks: [Block]) -> String {
        blocks.map { block -> String in
            switch block {
            case .thinking(let text, let signature): return "T(" + text + "|" + signature + ")"
            case .redacted(let data): return "R(" + data + ")"
            case .text, .toolUse: return "_"
            }
        }.joined()
    }

    /// The `message` body. With `astral`, every non-ASCII character is written escaped.
    static func message(
        _ turn: ScriptedTurn, model: String, flavor: SimFlavor, layout: Layout, astral: Bool = false
    ) -> [UInt8] {
        let json: [SimJSON] = blocks(turn, flavor: flavor, layout: layout).map { block in
            switch block {
            case .thinking(let text, let signature):
                // Cloudsway's layout writes the signature first.
                return layout.textFirst
                    ? ["type": "thinking", "signature": .string(signature), "thinking": .string(text)]
                    : ["type": "thinking", "thinking": .string(text), "signature": .string(signature)]
            case .redacted(let data): return ["type": "redacted_thinking", "data": .string(data)]
            case .text(let text): return ["type": "text", "text": .string(text)]
            case .toolUse(let call):
                return ["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.input]
            }
        }
        let body: SimJSON = [
            "id": .string(turn.responseID), "type": "message", "role": "assistant", "content": .array(json),
            "model": .string(model), "stop_reason": .string(stopReason(turn)), "stop_sequence": .null,
            "usage": ["input_tokens": .int(turn.promptTokens), "output_tokens": .int(turn.completionTokens)],
        ]
        return astral ? body.asciiBytes : body.bytes
    }

    /// The stream: `message_start`, `ping`, one `content_block_start`/`_delta`…/`_stop` run per
    /// block (thinking with `thinking_delta` pieces then a `signature_delta`; redacted whole in
    /// its start; text with `text_delta`; tool_use with `input_json_delta`), `message_delta`,
    /// `message_stop`. With `astral`, every event is ASCII-only JSON and the thinking is cut
    /// every `fragmentSize` UTF-16 code units, splitting surrogate pairs.
    static func streamEvents(
        _ turn: ScriptedTurn, model: String, flavor: SimFlavor, layout: Layout, fragmentSize: Int, astral: Bool = false
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
        for b in blocks(turn, flavor: flavor, layout: layout) {
            switch b {
            case .thinking(let text, let signature):
                var deltas: [SimJSON] = ScriptedModel.reasoningPieces(text, size: fragmentSize, astral: astral).map {
                    ["type": "thinking_delta", "thinking": $0]
                }
                deltas.append(["type": "signature_delta", "signature": .string(signature)])
                block(["type": "thinking", "thinking": "", "signature": ""], deltas: deltas)
            case .redacted(let data):
                block(["type": "redacted_thinking", "data": .string(data)], deltas: [])
            case .text(let text):
                block(["type": "text", "text": ""], deltas: ScriptedModel.fragments(text, size: fragmentSize).map {
                    ["type": "text_delta", "text": .string($0)]
                })
            case .toolUse(let call):
                let json = String(decoding: call.input.bytes, as: UTF8.self)
                block(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": [:]],
                      deltas: ScriptedModel.fragments(json, size: fragmentSize).map {
                          ["type": "input_json_delta", "partial_json": .string($0)]
                      })
            }
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
