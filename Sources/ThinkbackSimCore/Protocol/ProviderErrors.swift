/// The error bodies the simulator answers with. Provider refusals are byte for byte what
/// docs/provider-protocol.md quotes; wording it does not document is marked *(inferred)*.
public enum ProviderErrors {
    /// MiMo's "must be passed back" refusal, exactly as documented.
    public static let mimoReasoningRefusal =
        #"{"error":{"message":"Param Incorrect","param":"The reasoning_content in the thinking mode must be passed back to the API.","code":"400"}}"#

    /// The MiMo refusal with the extra `"type":""` member some reports show.
    public static let mimoReasoningRefusalAlt =
        #"{"error":{"message":"Param Incorrect","type":"","param":"The reasoning_content in the thinking mode must be passed back to the API.","code":"400"}}"#

    /// DeepSeek V4's refusal *(reported)*.
    public static let deepseekReasoningRefusal =
        #"{"error":{"message":"The `reasoning_content` in the thinking mode must be passed back to the API.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#

    /// DeepSeek's refusal as also reported: no backticks, `param` an empty string.
    public static let deepseekReasoningRefusalAlt =
        #"{"error":{"message":"The reasoning_content in the thinking mode must be passed back to the API.","type":"invalid_request_error","param":"","code":"invalid_request_error"}}"#

    /// Kimi's refusal *(reported)*, naming the 0-based index of the message in `messages`.
    public static func kimiReasoningRefusal(index: Int) -> String {
        #"{"error":{"message":"thinking is enabled but reasoning_content is missing in assistant tool call message at index "#
            + String(index) + #"","type":"invalid_request_error"}}"#
    }

    /// The Anthropic-side refusal (DeepSeek's wording in Anthropic's error shape, the stand-in
    /// provider-protocol.md prescribes).
    public static let anthropicThinkingRefusal =
        #"{"type":"error","error":{"type":"invalid_request_error","message":"The `content[].thinking` in the thinking mode must be passed back to the API."}}"#

    /// The "must be passed back" refusal of `flavor` for the message at `index`.
    public static func reasoningRefusal(flavor: SimFlavor, index: Int, alternate: Bool) -> String {
        switch flavor {
        case .mimo: return alternate ? mimoReasoningRefusalAlt : mimoReasoningRefusal
        case .deepseek: return alternate ? deepseekReasoningRefusalAlt : deepseekReasoningRefusal
        case .kimi: return kimiReasoningRefusal(index: index)
        }
    }

    /// OpenAI's own refusal of a `tool` message that answers no tool call of the assistant
    /// message before it (its wording, typo included).
    public static func orphanToolMessage(index: Int) -> String {
        openAI(
            message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            type: "invalid_request_error", param: .string("messages.[\(index)].role"), code: .null)
    }

    /// Anthropic's refusal of a `tool_result` block that answers no `tool_use` of the previous
    /// message (Anthropic's wording).
    public static func orphanToolResult(index: Int, block: Int, id: String) -> String {
        anthropic(
            type: "invalid_request_error",
            message: "messages.\(index).content.\(block): unexpected `tool_use_id` found in `tool_result` blocks: \(id). Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")
    }

    /// MiMo's hygiene refusals, in MiMo's shape. *(inferred)* wording: MiMo's is not documented.
    public static func mimoHygiene(_ detail: String) -> String {
        let body: SimJSON = ["error": ["message": "Param Incorrect", "param": .string(detail), "code": "400"]]
        return body.text
    }

    /// A body in the OpenAI error shape.
    public static func openAI(message: String, type: String, param: SimJSON = .null, code: SimJSON = .null) -> String {
        let body: SimJSON = ["error": ["message": .string(message), "type": .string(type), "param": param, "code": code]]
        return body.text
    }

    /// A body in the Anthropic error shape.
    public static func anthropic(type: String, message: String) -> String {
        let body: SimJSON = ["type": "error", "error": ["type": .string(type), "message": .string(message)]]
        return body.text
    }

    /// Not JSON at all: the same 400 on every flavor, naming the byte offset.
    public static func malformed(_ error: SimJSONError, anthropicShape: Bool) -> String {
        let message = "Invalid JSON body: \(error.message) at byte \(error.offset)"
        return anthropicShape
            ? anthropic(type: "invalid_request_error", message: message)
            : openAI(message: message, type: "invalid_request_error", code: "400")
    }

    /// Missing credentials.
    public static func unauthorized(anthropicShape: Bool) -> String {
        anthropicShape
            ? anthropic(type: "authentication_error", message: "invalid x-api-key")
            : openAI(message: "Invalid API Key", type: "authentication_error", code: "401")
    }

    /// An injected fault status (`x-sim-status`).
    public static func fault(status: Int, anthropicShape: Bool) -> String {
        let (type, message): (String, String)
        switch status {
        case 429: (type, message) = ("rate_limit_error", "Rate limit reached, please retry later")
        case 529: (type, message) = ("overloaded_error", "Overloaded")
        case 500...599: (type, message) = ("api_error", "The server is temporarily unavailable (sim fault \(status))")
        default: (type, message) = ("invalid_request_error", "sim fault \(status)")
        }
        return anthropicShape
            ? anthropic(type: type, message: message)
            : openAI(message: message, type: type, code: .string(String(status)))
    }
}
