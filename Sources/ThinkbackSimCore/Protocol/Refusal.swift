/// Why the simulator refused a chat request, as counted in `/sim/stats` `verdicts`.
public enum RefusalKind: String, CaseIterable, Sendable {
    /// A required reasoning is absent or `null`.
    case reasoningMissing = "refused_reasoning"
    /// `""` where the flavor refuses an empty placeholder.
    case emptyPlaceholder = "refused_empty"
    /// Whitespace-only reasoning on a tool-call message with placeholders refused.
    case placeholder = "refused_placeholder"
    /// A `tool` message (or `tool_result` block) answering no tool call before it.
    case orphanTool = "refused_orphan_tool"
    /// MiMo hygiene: `content: null` with tool calls, or list-typed `tool` content.
    case hygiene = "refused_hygiene"
    /// DeepSeek/Kimi: forced `tool_choice` in thinking mode; Kimi: `thinking` with `reasoning_effort`.
    case thinkingParameters = "refused_thinking_params"
    /// The body is not JSON.
    case malformedJSON = "refused_malformed_json"
    /// JSON, but not a valid request (no model, no messages, …).
    case invalidRequest = "refused_invalid"
    /// `x-sim-refuse-unissued`: reasoning this simulator did not issue.
    case unissued = "refused_unissued"
}

/// A refusal: its kind and the exact body.
struct Refusal {
    var kind: RefusalKind
    var body: String
}
