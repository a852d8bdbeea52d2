/// How tool-call ids look.
enum ToolIDStyle {
    /// `call_` + 24 hex digits (MiMo).
    case openAI
    /// `functions.NAME:IDX`, IDX the call's position in its answer (Kimi on some hosts).
    case kimi
    /// `toolu_` + 24 alphanumerics (Anthropic).
    case anthropic
}

extension ScriptedModel {
    /// The tool calls of one answer: none unless the request ends with a user question and
    /// offers tools it does not forbid; else `x-sim-tool-calls` of them (default one or two).
    /// With `x-sim-repeat-calls` the choice of tools, their number and their arguments depend
    /// only on the seed and the offered tools; ids still come from `rng`.
    static func toolCalls(
        for input: ScriptInput, seed: UInt64, knobs: SimKnobs, style: ToolIDStyle, rng: inout SplitMix64
    ) -> [ScriptedToolCall] {
        guard input.lastIsUserQuestion, !input.tools.isEmpty, !input.toolsForbidden else { return [] }
        if knobs.repeatCalls {
            var choices = SplitMix64(seed: repeatSeed(seed, tools: input.tools))
            let count = knobs.toolCallCount ?? (1 + choices.below(2))
            return (0..<count).map { index in
                let tool = input.tools[choices.below(input.tools.count)]
                let value = ToolArguments.value(for: tool.schema, rng: &choices)
                return call(index, tool: tool, value: value, style: style, rng: &rng)
            }
        }
        let count = knobs.toolCallCount ?? (1 + rng.below(2))
        var calls: [ScriptedToolCall] = []
        for index in 0..<count {
            let tool = input.tools[rng.below(input.tools.count)]
            let value = ToolArguments.value(for: tool.schema, rng: &rng)
            calls.append(call(index, tool: tool, value: value, style: style, rng: &rng))
        }
        return calls
    }

    /// The seed of `x-sim-repeat-calls`: the config seed and the tools' names and schemas,
    /// nothing of the conversation, so every round of it makes the same calls.
    static func repeatSeed(_ seed: UInt64, tools: [ToolSpec]) -> UInt64 {
        var hash = FNV1a64()
        hash.combine(withUnsafeBytes(of: seed.littleEndian, Array.init))
        for tool in tools {
            hash.combine(tool.name)
            hash.combine(tool.schema?.canonicalBytes ?? [])
            hash.combine(CollectionOfOne(0xFF))
        }
        return hash.value
    }

    private static func call(
        _ index: Int, tool: ToolSpec, value: SimJSON, style: ToolIDStyle, rng: inout SplitMix64
    ) -> ScriptedToolCall {
        let id: String
        switch style {
        case .openAI: id = "call_" + rng.hex(24)
        case .kimi:
            // Drawn as for `.openAI`, so that the id style changes nothing else in the answer.
            _ = rng.hex(24)
            id = "functions.\(tool.name):\(index)"
        case .anthropic: id = "toolu_" + rng.alphanumeric(24)
        }
        return ScriptedToolCall(id: id, name: tool.name, input: value, arguments: ToolArguments.spell(value))
    }
}
