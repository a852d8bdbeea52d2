/// One content block of an Anthropic message, as much as the simulator looks at.
enum AnthropicBlock {
    case text(String)
    case thinking(String, signature: String)
    case redactedThinking(data: String)
    case toolUse(id: String, name: String, input: SimJSON)
    /// A tool result and the text of its `content` (a string, or text blocks joined).
    case toolResult(toolUseID: String, text: String)
    case other
}

/// An Anthropic-format message.
struct AnthropicMessage {
    var index: Int
    var role: String
    var blocks: [AnthropicBlock]

    var toolUses: [HistoryCall] {
        blocks.compactMap {
            guard case .toolUse(let id, let name, let input) = $0 else { return nil }
            return HistoryCall(id: id, name: name, canonicalArguments: String(decoding: input.canonicalBytes, as: UTF8.self))
        }
    }

    /// What the ledger and the validator compare: `.absent` with no thinking block at all;
    /// the blocks' layout (`AnthropicRenderer.layoutText`: each thinking block's text and
    /// signature, each redacted block's data, their places among the others) when they carry
    /// anything; the thinking text alone when it is only empty or blank unsigned blocks (a
    /// placeholder).
    var reasoning: ReasoningField {
        var text = ""
        var sawThinking = false
        var substantive = false
        var layout: [AnthropicRenderer.Block] = []
        for block in blocks {
            switch block {
            case .thinking(let t, let signature):
                sawThinking = true
                text += t
                if !signature.isEmpty || !t.allSatisfy(\.isWhitespace) { substantive = true }
                layout.append(.thinking(text: t, signature: signature))
            case .redactedThinking(let data):
                sawThinking = true
                substantive = true
                layout.append(.redacted(data: data))
            default:
                layout.append(.text(""))
            }
        }
        guard sawThinking else { return .absent }
        return substantive ? .text(AnthropicRenderer.layoutText(layout)) : .text(text)
    }

    var text: String {
        blocks.compactMap { if case .text(let t) = $0 { return t } else { return nil } }.joined(separator: "\n")
    }

    /// The text of each `tool_result` block, in order.
    var toolResultTexts: [String] {
        blocks.compactMap { if case .toolResult(_, let t) = $0 { return t } else { return nil } }
    }

    /// A user message made only of tool results (the answer to the previous tool calls).
    var isOnlyToolResults: Bool {
        !blocks.isEmpty && blocks.allSatisfy { if case .toolResult = $0 { return true } else { return false } }
    }
}

/// An Anthropic-format `POST /v1/messages` body.
struct AnthropicRequest {
    var model: String
    var stream: Bool
    var thinking: SimJSON?
    /// The `system` text: the string, or its text blocks joined.
    var system: String
    var messages: [AnthropicMessage]
    var tools: [ToolSpec]
    var toolChoice: SimJSON?

    static func decode(_ json: SimJSON) throws(ShapeError) -> AnthropicRequest {
        guard json.objectMembers != nil else { throw ShapeError("the request body must be a JSON object", param: nil) }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            throw ShapeError("model: Field required", param: "model")
        }
        guard let rawMessages = json["messages"]?.arrayValue, !rawMessages.isEmpty else {
            throw ShapeError("messages: Field required", param: "messages")
        }
        var messages: [AnthropicMessage] = []
        for (i, raw) in rawMessages.enumerated() {
            guard let role = raw["role"]?.stringValue else {
                throw ShapeError("messages.\(i).role: Field required", param: nil)
            }
            var blocks: [AnthropicBlock] = []
            switch raw["content"] {
            case .string(let s)?: blocks = [.text(s)]
            case .array(let items)?:
                for (j, item) in items.enumerated() {
                    blocks.append(try block(item, at: "messages.\(i).content.\(j)"))
                }
            default: throw ShapeError("messages.\(i).content: Input should be a valid list", param: nil)
            }
            messages.append(AnthropicMessage(index: i, role: role, blocks: blocks))
        }
        var tools: [ToolSpec] = []
        for tool in json["tools"]?.arrayValue ?? [] {
            guard let name = tool["name"]?.stringValue else { continue }
            tools.append(ToolSpec(name: name, schema: tool["input_schema"]))
        }
        return AnthropicRequest(
            model: model, stream: json["stream"]?.boolValue ?? false, thinking: json["thinking"],
            system: SimText.text(of: json["system"]), messages: messages, tools: tools, toolChoice: json["tool_choice"])
    }

    private static func block(_ item: SimJSON, at path: String) throws(ShapeError) -> AnthropicBlock {
        switch item["type"]?.stringValue {
        case "text": return .text(item["text"]?.stringValue ?? "")
        case "thinking":
            guard let t = item["thinking"]?.stringValue else {
                throw ShapeError("\(path).thinking.thinking: Field required", param: nil)
            }
            return .thinking(t, signature: item["signature"]?.stringValue ?? "")
        case "redacted_thinking": return .redactedThinking(data: item["data"]?.stringValue ?? "")
        case "tool_use":
            guard let id = item["id"]?.stringValue, let name = item["name"]?.stringValue else {
                throw ShapeError("\(path).tool_use: id and name are required", param: nil)
            }
            return .toolUse(id: id, name: name, input: item["input"] ?? [:])
        case "tool_result":
            guard let id = item["tool_use_id"]?.stringValue else {
                throw ShapeError("\(path).tool_result.tool_use_id: Field required", param: nil)
            }
            return .toolResult(toolUseID: id, text: SimText.text(of: item["content"]))
        case nil: throw ShapeError("\(path).type: Field required", param: nil)
        default: return .other
        }
    }

    /// Whether the model should answer a user question (rather than conclude after tool results).
    var lastIsUserQuestion: Bool {
        guard let last = messages.last, last.role == "user" else { return false }
        return !last.isOnlyToolResults
    }

    var toolsForbidden: Bool { toolChoice?["type"]?.stringValue == "none" }
}
