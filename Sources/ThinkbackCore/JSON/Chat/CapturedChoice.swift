/// A tool call as a response produced it, decoded.
public struct CapturedToolCall: Sendable, Equatable {
    /// `id` (empty if the provider sent none).
    public var id: String
    /// `function.name` (empty if none).
    public var name: String
    /// `function.arguments`, the decoded string bytes (empty if none).
    public var arguments: [UInt8]

    /// Creates a tool call.
    public init(id: String, name: String, arguments: [UInt8]) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// One choice's final assistant message, as capture records it.
public struct CapturedChoice: Sendable, Equatable {
    /// The choice's `index`.
    public var index: Int
    /// `reasoning_content`, decoded; `nil` if the field was absent or null (capture records
    /// that as the empty string, product.md §1).
    public var reasoning: [UInt8]?
    /// The content's normalised text (`ChatContentText`): decoded, text parts joined, trimmed.
    public var content: [UInt8]
    /// The tool calls in order.
    public var toolCalls: [CapturedToolCall]
    /// `finish_reason`, if any.
    public var finishReason: String?

    /// Creates a choice.
    public init(index: Int, reasoning: [UInt8]?, content: [UInt8], toolCalls: [CapturedToolCall], finishReason: String?) {
        self.index = index
        self.reasoning = reasoning
        self.content = content
        self.toolCalls = toolCalls
        self.finishReason = finishReason
    }
}
