/// The provider's rules for an Anthropic-format request: an assistant message with `tool_use`
/// must carry its thinking back; a `tool_result` must answer a `tool_use` of the previous message.
enum AnthropicValidator {
    static func validate(_ request: AnthropicRequest, thinking: Bool, knobs: SimKnobs) -> Refusal? {
        var previousUseIDs: Set<String> = []
        for m in request.messages {
            if m.role == "user" {
                for (j, block) in m.blocks.enumerated() {
                    guard case .toolResult(let id, _) = block else { continue }
                    if !previousUseIDs.contains(id) {
                        return Refusal(
                            kind: .orphanTool, body: ProviderErrors.orphanToolResult(index: m.index, block: j, id: id))
                    }
                }
            }
            previousUseIDs = m.role == "assistant" ? Set(m.toolUses.map(\.id)) : []
        }
        guard thinking else { return nil }
        for m in request.messages where m.role == "assistant" && !m.toolUses.isEmpty {
            if let kind = OpenAIValidator.reasoningProblem(m.reasoning, hasCalls: true, knobs: knobs) {
                return Refusal(kind: kind, body: ProviderErrors.anthropicThinkingRefusal)
            }
        }
        return nil
    }
}
