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
    /// `reasoning_content` as the provider spelt it: the still-escaped bytes between the
    /// string's quotes (a stream's fragments joined before any decoding, so an escaped
    /// surrogate pair split across two events stays one character); `nil` if the field was
    /// absent or null (capture records that as the empty string, product.md §1).
    public var reasoningLiteral: [UInt8]?
    /// The content's normalised text (`ChatContentText`): decoded, text parts joined, trimmed.
    public var content: [UInt8]
    /// The tool calls in order.
    public var toolCalls: [CapturedToolCall]
    /// `finish_reason`, if any.
    public var finishReason: String?

    /// Creates a choice from the reasoning's escaped spelling.
    public init(index: Int, reasoningLiteral: [UInt8]?, content: [UInt8], toolCalls: [CapturedToolCall], finishReason: String?) {
        self.index = index
        self.reasoningLiteral = reasoningLiteral
        self.content = content
        self.toolCalls = toolCalls
        self.finishReason = finishReason
    }

    /// Creates a choice from decoded reasoning (spelt as `JSONStringEncoder` writes it).
    public init(index: Int, reasoning: [UInt8]?, content: [UInt8], toolCalls: [CapturedToolCall], finishReason: String?) {
        let literal = reasoning.map { JSONStringEncoder.encode($0) }
        self.init(index: index, reasoningLiteral: literal.map { Array($0[1 ..< $0.count - 1]) }, content: content,
                  toolCalls: toolCalls, finishReason: finishReason)
    }

    /// `reasoning_content`, decoded; `nil` if it was absent or null.
    public var reasoning: [UInt8]? {
        guard let literal = reasoningLiteral else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(literal.count)
        literal.withUnsafeBytes { JSONStringDecoding.appendUnescaped($0, to: &out) }
        return out
    }

    /// Equal when they say the same: the reasoning compared decoded, whatever its spelling.
    public static func == (lhs: CapturedChoice, rhs: CapturedChoice) -> Bool {
        lhs.index == rhs.index && lhs.content == rhs.content && lhs.toolCalls == rhs.toolCalls
            && lhs.finishReason == rhs.finishReason && lhs.reasoning == rhs.reasoning
    }

    /// The value capture stores: the reasoning's JSON literal as the provider spelt it (absent
    /// is `""`), spliced verbatim into later requests.
    public func storedReasoning(storedAtMilliseconds: UInt64) -> StoredReasoning {
        var text: [UInt8] = [UInt8(ascii: "\"")]
        text.reserveCapacity((reasoningLiteral?.count ?? 0) + 2)
        text += reasoningLiteral ?? []
        text.append(UInt8(ascii: "\""))
        return StoredReasoning(text: text, format: .reasoningContentJSON, storedAtMilliseconds: storedAtMilliseconds)
    }
}
