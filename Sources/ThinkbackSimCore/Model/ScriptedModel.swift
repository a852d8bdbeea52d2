/// What the scripted model is asked: the parts of a request that decide its answer.
struct ScriptInput {
    var model: String
    var thinking: Bool
    var tools: [ToolSpec]
    var toolsForbidden: Bool
    /// The last message is a user question (not tool results): call tools if offered.
    var lastIsUserQuestion: Bool
    /// How many tool results the conversation ends with (for the answer's wording).
    var trailingToolResults: Int
    /// A stable hash of the model, messages and tools (never of `stream`).
    var fingerprint: UInt64
    /// Bytes of the canonical model, messages and tools, for a plausible `prompt_tokens`
    /// (not the body's size, which `stream` and whitespace would change).
    var promptBytes: Int
}

/// One tool call the model makes.
struct ScriptedToolCall: Equatable {
    var id: String
    var name: String
    /// The arguments as an object.
    var input: SimJSON
    /// The arguments string, as written in `function.arguments` (`ToolArguments.spell`).
    var arguments: String
}

/// One answer of the scripted model, independent of the wire format.
struct ScriptedTurn: Equatable {
    /// 32 hex digits.
    var responseID: String
    /// `nil` when thinking is off.
    var reasoning: String?
    var content: String
    var toolCalls: [ScriptedToolCall]
    var promptTokens: Int
    var reasoningTokens: Int
    var completionTokens: Int

    var totalTokens: Int { promptTokens + completionTokens }
}

/// The deterministic model: for a seed, a serial number and a request, always the same turn.
enum ScriptedModel {
    static func respond(
        to input: ScriptInput, seed: UInt64, serial: Int, knobs: SimKnobs, style: ToolIDStyle
    ) -> ScriptedTurn {
        var mixer = SplitMix64(seed: seed ^ (UInt64(serial) &* 0x9E37_79B9_7F4A_7C15) ^ input.fingerprint)
        var rng = SplitMix64(seed: mixer.next())
        let responseID = rng.hex(32)

        var calls = toolCalls(for: input, seed: seed, knobs: knobs, style: style, rng: &rng)

        var content = ""
        var topic: String
        if calls.isEmpty {
            content = ReasoningText.answer(serial: serial, toolResults: input.trailingToolResults, rng: &rng)
            topic =
                input.trailingToolResults > 0
                ? "I got \(input.trailingToolResults) tool result(s); now I can answer."
                : "No tool is needed; I will answer directly."
        } else {
            topic = "I will call " + calls.map { "\($0.name) with \($0.arguments)" }.joined(separator: " and ") + "."
        }

        var reasoning: String?
        if input.thinking {
            var text = ReasoningText.reasoning(
                serial: serial, seed: seed, topic: topic, length: knobs.reasoningLength, astral: knobs.astral,
                rng: &rng)
            if knobs.leakToolCall, !calls.isEmpty {
                // MiMo's FAQ: with thinking on, a tool call sometimes ends up inside the reasoning.
                text += "\n" + calls.map { ToolArguments.qwenXML(name: $0.name, input: $0.input) }.joined(separator: "\n")
                calls = []
                content = ""
            }
            reasoning = text
        }

        let reasoningTokens = reasoning.map { $0.utf8.count / 4 + 1 } ?? 0
        let outputBytes = content.utf8.count + calls.reduce(0) { $0 + $1.arguments.utf8.count + $1.name.utf8.count }
        return ScriptedTurn(
            responseID: responseID, reasoning: reasoning, content: content, toolCalls: calls,
            promptTokens: input.promptBytes / 4 + 8, reasoningTokens: reasoningTokens,
            completionTokens: reasoningTokens + outputBytes / 4 + 1)
    }

    /// The reasoning's stream pieces: ``fragments(_:size:)`` as strings or, in astral mode,
    /// pieces of `size` UTF-16 code units cut wherever that falls, inside a surrogate pair too.
    static func reasoningPieces(_ text: String, size: Int, astral: Bool) -> [SimJSON] {
        guard astral else { return fragments(text, size: size).map { .string($0) } }
        let units = Array(text.utf16)
        return stride(from: 0, to: units.count, by: size).map { .codeUnits(Array(units[$0..<min($0 + size, units.count)])) }
    }

    /// Cuts `text` into pieces of at most `size` UTF-8 bytes on Unicode scalar boundaries
    /// (at least one scalar each); their concatenation is `text`.
    static func fragments(_ text: String, size: Int) -> [String] {
        var pieces: [String] = []
        var current = ""
        var currentBytes = 0
        for scalar in text.unicodeScalars {
            let n = UTF8.width(scalar)
            if currentBytes > 0, currentBytes + n > size {
                pieces.append(current)
                current = ""
                currentBytes = 0
            }
            current.unicodeScalars.append(scalar)
            currentBytes += n
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}
