/// The provider's rules for an OpenAI-format request (provider-protocol.md): what MiMo,
/// DeepSeek or Kimi would refuse, with their wording.
enum OpenAIValidator {
    static func validate(_ request: ChatRequest, thinking: Bool, knobs: SimKnobs) -> Refusal? {
        if let r = thinkingParameters(request, thinking: thinking, knobs: knobs) { return r }
        var previousCallIDs: Set<String>?
        for m in request.messages {
            switch m.role {
            case "assistant":
                previousCallIDs = Set(m.toolCalls.map(\.id))
                if knobs.strictHygiene, !m.toolCalls.isEmpty, m.content?.isNull == true {
                    return Refusal(
                        kind: .hygiene,
                        body: ProviderErrors.mimoHygiene(
                            "messages[\(m.index)].content must not be null in an assistant message with tool_calls"))
                }
            case "tool":
                if knobs.strictHygiene, m.content?.arrayValue != nil {
                    return Refusal(
                        kind: .hygiene,
                        body: ProviderErrors.mimoHygiene("messages[\(m.index)].content of a tool message must be a string"))
                }
                // A tool message answers a call of the nearest assistant message before it.
                guard let id = m.toolCallID, previousCallIDs?.contains(id) == true else {
                    return Refusal(kind: .orphanTool, body: ProviderErrors.orphanToolMessage(index: m.index))
                }
            default: break
            }
        }
        guard thinking else { return nil }
        for m in request.messages where m.role == "assistant" {
            let hasCalls = !m.toolCalls.isEmpty
            guard hasCalls || knobs.flavor == .deepseek else { continue }
            if let kind = reasoningProblem(m.reasoning, hasCalls: hasCalls, knobs: knobs) {
                return Refusal(
                    kind: kind,
                    body: ProviderErrors.reasoningRefusal(
                        flavor: knobs.flavor, index: m.index, alternate: knobs.alternateErrorShape))
            }
        }
        return nil
    }

    /// What is wrong with a required reasoning, if anything (shared with the Anthropic rules).
    static func reasoningProblem(_ reasoning: ReasoningField, hasCalls: Bool, knobs: SimKnobs) -> RefusalKind? {
        switch reasoning {
        case .absent, .null: return .reasoningMissing
        case .opaque: return nil
        case .text(let s):
            if s.isEmpty, !knobs.emptyPlaceholderAccepted { return .emptyPlaceholder }
            if hasCalls, !knobs.placeholdersAccepted, SimText.isBlank(s) { return .placeholder }
            return nil
        }
    }

    /// DeepSeek and Kimi refuse a forced `tool_choice` in thinking mode; Kimi refuses `thinking`
    /// with `reasoning_effort`. *(inferred)* wording: the providers' is not documented.
    private static func thinkingParameters(_ request: ChatRequest, thinking: Bool, knobs: SimKnobs) -> Refusal? {
        guard thinking, knobs.flavor != .mimo else { return nil }
        if let choice = request.toolChoice, choice.stringValue == "required" || choice.objectMembers != nil {
            return Refusal(
                kind: .thinkingParameters,
                body: ProviderErrors.openAI(
                    message: "tool_choice \"required\" or a named tool is not supported in thinking mode",
                    type: "invalid_request_error", param: "tool_choice"))
        }
        if knobs.flavor == .kimi, request.thinking != nil, request.hasReasoningEffort {
            return Refusal(
                kind: .thinkingParameters,
                body: ProviderErrors.openAI(
                    message: "thinking and reasoning_effort cannot be set together", type: "invalid_request_error"))
        }
        return nil
    }
}
