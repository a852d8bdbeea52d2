/// One `chat.completion.chunk` of a stream: per choice the delta's fragments, as spans into
/// the chunk's bytes (decode them against the same buffer), and the finish reason.
///
/// Members that are `null` count as absent. A choice without a usable `index` takes its
/// position in the array. Duplicate keys: last wins.
public struct ChatChunkScan: Sendable {
    /// The chunk's choices (empty for the final usage chunk).
    public var choices: [ChatChunkChoice]

    /// Scans one chunk's JSON (an SSE event's data).
    public init(_ data: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) {
        var r = JSONReader(data, maxDepth: maxDepth)
        choices = []
        guard try r.peekKind() == .object else {
            _ = try r.skipValue()
            try r.finish()
            return
        }
        try r.beginObject()
        while let key = try r.nextKey() {
            guard key.equals("choices", in: data), try r.peekKind() == .array else {
                _ = try r.skipValue()
                continue
            }
            choices = []
            try r.beginArray()
            while try r.nextElement() {
                guard try r.peekKind() == .object else { _ = try r.skipValue(); continue }
                choices.append(try Self.readChoice(&r, position: choices.count))
            }
        }
        try r.finish()
    }

    /// Scans one chunk's JSON.
    public init(_ data: [UInt8], maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) {
        self = try withRawBytes(data) { (raw) throws(JSONSyntaxError) in try ChatChunkScan(raw, maxDepth: maxDepth) }
    }

    private static func readChoice(_ r: inout JSONReader, position: Int) throws(JSONSyntaxError) -> ChatChunkChoice {
        let data = r.bytes
        var choice = ChatChunkChoice(index: position)
        try r.beginObject()
        while let key = try r.nextKey() {
            if key.equals("delta", in: data), try r.peekKind() == .object {
                try readDelta(&r, into: &choice)
                continue
            }
            let v = try r.skipValue()
            if key.equals("index", in: data) {
                if v.kind == .number, let n = r.integerValue(of: v.range) { choice.index = n }
            } else if key.equals("finish_reason", in: data) {
                choice.finishReason = v.stringSpan?.decodedString(in: data)
            }
        }
        return choice
    }

    private static func readDelta(_ r: inout JSONReader, into choice: inout ChatChunkChoice) throws(JSONSyntaxError) {
        let data = r.bytes
        try r.beginObject()
        while let key = try r.nextKey() {
            if key.equals("tool_calls", in: data), try r.peekKind() == .array {
                choice.toolCalls = try readFragments(&r)
                continue
            }
            let v = try r.skipValue()
            switch key.content.count {
            case 4 where key.equals("role", in: data): choice.role = v.stringSpan?.decodedString(in: data)
            case 7 where key.equals("content", in: data): choice.content = v.stringSpan
            case 10 where key.equals("tool_calls", in: data): choice.toolCalls = []
            case 17 where key.equals("reasoning_content", in: data): choice.reasoning = v.stringSpan
            default:
                if key.hasEscapes {
                    if key.equals("role", in: data) { choice.role = v.stringSpan?.decodedString(in: data) }
                    if key.equals("content", in: data) { choice.content = v.stringSpan }
                    if key.equals("tool_calls", in: data) { choice.toolCalls = [] }
                    if key.equals("reasoning_content", in: data) { choice.reasoning = v.stringSpan }
                }
            }
        }
    }

    private static func readFragments(_ r: inout JSONReader) throws(JSONSyntaxError) -> [ChatToolCallFragment] {
        let data = r.bytes
        var fragments: [ChatToolCallFragment] = []
        try r.beginArray()
        while try r.nextElement() {
            guard try r.peekKind() == .object else { _ = try r.skipValue(); continue }
            var f = ChatToolCallFragment()
            try r.beginObject()
            while let key = try r.nextKey() {
                if key.equals("function", in: data), try r.peekKind() == .object {
                    f.name = nil
                    f.arguments = nil
                    try r.beginObject()
                    while let fkey = try r.nextKey() {
                        let v = try r.skipValue()
                        if fkey.equals("name", in: data) {
                            f.name = v.stringSpan?.decodedString(in: data)
                        } else if fkey.equals("arguments", in: data) {
                            f.arguments = v.stringSpan
                        }
                    }
                    continue
                }
                let v = try r.skipValue()
                if key.equals("index", in: data) {
                    f.index = v.kind == .number ? r.integerValue(of: v.range) : nil
                } else if key.equals("id", in: data) {
                    f.id = v.stringSpan?.decodedString(in: data)
                }
            }
            fragments.append(f)
        }
        return fragments
    }
}

/// One choice of a stream chunk.
public struct ChatChunkChoice: Sendable, Equatable {
    /// `index` (or the position in `choices` when missing).
    public var index: Int
    /// `delta.role`.
    public var role: String?
    /// `delta.reasoning_content` when it is a string.
    public var reasoning: JSONStringSpan?
    /// `delta.content` when it is a string.
    public var content: JSONStringSpan?
    /// `delta.tool_calls` fragments.
    public var toolCalls: [ChatToolCallFragment] = []
    /// `finish_reason` when it is a string.
    public var finishReason: String?

    /// Creates an empty choice.
    public init(index: Int) {
        self.index = index
    }
}

/// One element of a delta's `tool_calls`: OpenAI's indexed fragments, where `id` and
/// `function.name` come first and `function.arguments` arrives in pieces.
public struct ChatToolCallFragment: Sendable, Equatable {
    /// `index`: which tool call of the message this fragment belongs to.
    public var index: Int?
    /// `id`, when present.
    public var id: String?
    /// `function.name`, when present.
    public var name: String?
    /// A piece of `function.arguments`, as a span into the chunk.
    public var arguments: JSONStringSpan?

    /// An empty fragment.
    public init(index: Int? = nil, id: String? = nil, name: String? = nil, arguments: JSONStringSpan? = nil) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
