/// The state of an assistant message's reasoning field in a request.
enum ReasoningField: Equatable {
    /// The member is not there (Anthropic: no thinking block).
    case absent
    /// The member is `null`.
    case null
    /// A string (Anthropic: the thinking blocks' text, concatenated).
    case text(String)
    /// Present but not comparable text (Anthropic `redacted_thinking`).
    case opaque

    /// Absent or null: what the ledger calls "missing".
    var isMissing: Bool { self == .absent || self == .null }
}

/// A tool the request offers the model.
struct ToolSpec {
    var name: String
    /// The JSON schema of the arguments (`parameters` / `input_schema`), if any.
    var schema: SimJSON?
}

/// A tool call in a history assistant message.
struct HistoryCall {
    var id: String
    var name: String
    /// The arguments in the canonical spelling of product.md §1.
    var canonicalArguments: String
}

/// An OpenAI-format chat message, as much of it as the simulator looks at.
struct ChatMessage {
    var index: Int
    var role: String
    /// `nil` when the member is absent.
    var content: SimJSON?
    var reasoning: ReasoningField
    var toolCalls: [HistoryCall]
    var toolCallID: String?

    /// The text of `content`: the string, or the text parts of an array joined.
    var contentText: String { SimText.text(of: content) }
}

/// An OpenAI-format `POST /v1/chat/completions` body.
struct ChatRequest {
    var model: String
    var stream: Bool
    var thinking: SimJSON?
    var messages: [ChatMessage]
    var tools: [ToolSpec]
    var toolChoice: SimJSON?
    var hasReasoningEffort: Bool

    /// Reads the body; a shape error is a 400 of the generic kind.
    static func decode(_ json: SimJSON) throws(ShapeError) -> ChatRequest {
        guard json.objectMembers != nil else { throw ShapeError("the request body must be a JSON object", param: nil) }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            throw ShapeError("you must provide a model parameter", param: "model")
        }
        guard let rawMessages = json["messages"]?.arrayValue, !rawMessages.isEmpty else {
            throw ShapeError("messages must be a non-empty array", param: "messages")
        }
        var messages: [ChatMessage] = []
        for (i, raw) in rawMessages.enumerated() {
            guard raw.objectMembers != nil, let role = raw["role"]?.stringValue else {
                throw ShapeError("messages[\(i)] must be an object with a string role", param: "messages[\(i)]")
            }
            let reasoning: ReasoningField
            switch raw["reasoning_content"] {
            case nil: reasoning = .absent
            case .null?: reasoning = .null
            case .string(let s)?: reasoning = .text(s)
            default:
                throw ShapeError(
                    "messages[\(i)].reasoning_content must be a string", param: "messages[\(i)].reasoning_content")
            }
            var calls: [HistoryCall] = []
            for (j, call) in (raw["tool_calls"]?.arrayValue ?? []).enumerated() {
                guard let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue else {
                    throw ShapeError(
                        "messages[\(i)].tool_calls[\(j)] needs an id and function.name",
                        param: "messages[\(i)].tool_calls[\(j)]")
                }
                let arguments: String
                switch call["function"]?["arguments"] {
                case .string(let s)?: arguments = SimJSON.canonicalArguments(s)
                case let other?: arguments = String(decoding: other.canonicalBytes, as: UTF8.self)
                case nil: arguments = ""
                }
                calls.append(HistoryCall(id: id, name: name, canonicalArguments: arguments))
            }
            messages.append(
                ChatMessage(
                    index: i, role: role, content: raw["content"], reasoning: reasoning, toolCalls: calls,
                    toolCallID: raw["tool_call_id"]?.stringValue))
        }
        var tools: [ToolSpec] = []
        for tool in json["tools"]?.arrayValue ?? [] {
            guard let name = tool["function"]?["name"]?.stringValue else { continue }
            tools.append(ToolSpec(name: name, schema: tool["function"]?["parameters"]))
        }
        return ChatRequest(
            model: model, stream: json["stream"]?.boolValue ?? false, thinking: json["thinking"],
            messages: messages, tools: tools, toolChoice: json["tool_choice"],
            hasReasoningEffort: json["reasoning_effort"].map { !$0.isNull } ?? false)
    }

    /// Whether the model should answer a user question (rather than conclude after tool results).
    var lastIsUserQuestion: Bool { messages.last?.role == "user" }

    /// Whether `tool_choice` forbids tool calls.
    var toolsForbidden: Bool { toolChoice?.stringValue == "none" }
}

/// A request body that is JSON but not the shape the route wants.
struct ShapeError: Error {
    var message: String
    var param: String?
    init(_ message: String, param: String?) {
        self.message = message
        self.param = param
    }
}

/// Text helpers shared by both formats.
enum SimText {
    /// The text of a `content` value: the string, or the `text` of the parts of an array,
    /// joined with newlines.
    static func text(of content: SimJSON?) -> String {
        switch content {
        case .string(let s)?: return s
        case .array(let parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: return ""
        }
    }

    /// Whether `s` is empty or only whitespace (product.md §3: "placeholder").
    static func isBlank(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
    }

    /// The marker thinkback's `textualize` strategy writes for a call (product.md §3).
    static let textualizedCallMarker = "[tool call] "
}
