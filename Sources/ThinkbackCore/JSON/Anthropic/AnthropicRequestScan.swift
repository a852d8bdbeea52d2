/// What one pass over an Anthropic Messages request body found (docs/provider-protocol.md,
/// "Anthropic-compatible format"): the top-level fields thinkback acts on and, per message and
/// per content block, the spans needed to put thinking blocks back or rewrite tool use by
/// splicing the original bytes. Like `ChatRequestScan`: byte offsets into the body, small
/// values decoded, the whole body validated, the last of duplicate keys wins.
public struct AnthropicRequestScan: Sendable {
    /// `model`, decoded; nil if absent or not a string.
    public var model: String?
    /// `stream`; nil if absent or not a boolean.
    public var stream: Bool?
    /// `thinking.type` (`enabled`, `disabled`, `adaptive`), decoded.
    public var thinkingType: String?
    /// The messages in order.
    public var messages: [AnthropicMessage]

    /// Scans a request body.
    public init(_ body: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) throws(ChatRequestScanError) {
        var reader = JSONReader(body, maxDepth: maxDepth)
        do {
            self = try Self.parseTop(&reader)
        } catch let error as JSONSyntaxError {
            throw .syntax(error)
        } catch let error as ChatRequestShapeError {
            throw .shape(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    /// Scans a request body.
    public init(_ body: [UInt8]) throws(ChatRequestScanError) {
        self = try withRawBytes(body) { (raw) throws(ChatRequestScanError) in try AnthropicRequestScan(raw) }
    }

    private init(model: String?, stream: Bool?, thinkingType: String?, messages: [AnthropicMessage]) {
        self.model = model
        self.stream = stream
        self.thinkingType = thinkingType
        self.messages = messages
    }

    // MARK: the walk (throws JSONSyntaxError or, once the whole body is valid, ChatRequestShapeError)

    private static func parseTop(_ r: inout JSONReader) throws -> AnthropicRequestScan {
        let body = r.bytes
        r.skipWhitespace()
        let topStart = r.offset
        guard try r.peekKind() == .object else {
            _ = try r.skipValue()
            try r.finish()
            throw ChatRequestShapeError(offset: topStart, reason: "top level is not an object")
        }
        var model: String?
        var stream: Bool?
        var thinkingType: String?
        var messages: [AnthropicMessage]?
        var shapeError: ChatRequestShapeError?
        try r.beginObject()
        while let key = try r.nextKey() {
            if key.equals("messages", in: body) {
                r.skipWhitespace()
                let start = r.offset
                shapeError = nil
                if try r.peekKind() == .array {
                    var list: [AnthropicMessage] = []
                    try r.beginArray()
                    while try r.nextElement() {
                        let at = r.offset
                        if try r.peekKind() == .object {
                            list.append(try readMessage(&r))
                        } else {
                            _ = try r.skipValue()
                            if shapeError == nil { shapeError = ChatRequestShapeError(offset: at, reason: "message \(list.count) is not an object") }
                        }
                    }
                    messages = list
                } else {
                    _ = try r.skipValue()
                    messages = nil
                    shapeError = ChatRequestShapeError(offset: start, reason: "messages is not an array")
                }
            } else if key.equals("thinking", in: body), try r.peekKind() == .object {
                thinkingType = nil
                try r.beginObject()
                while let inner = try r.nextKey() {
                    let v = try r.skipValue()
                    if inner.equals("type", in: body) { thinkingType = v.stringSpan?.decodedString(in: body) }
                }
            } else {
                let v = try r.skipValue()
                if key.equals("model", in: body) {
                    model = v.stringSpan?.decodedString(in: body)
                } else if key.equals("stream", in: body) {
                    stream = v.kind == .bool ? body[v.range.lowerBound] == UInt8(ascii: "t") : nil
                } else if key.equals("thinking", in: body) {
                    thinkingType = nil
                }
            }
        }
        try r.finish()
        if let shapeError { throw shapeError }
        guard let messages else { throw ChatRequestShapeError(offset: topStart, reason: "messages is missing") }
        return AnthropicRequestScan(model: model, stream: stream, thinkingType: thinkingType, messages: messages)
    }

    private static func readMessage(_ r: inout JSONReader) throws -> AnthropicMessage {
        let body = r.bytes
        var m = AnthropicMessage(range: r.offset ..< r.offset)
        try r.beginObject()
        while let key = try r.nextKey() {
            let keyStart = key.content.lowerBound - 1
            if key.equals("content", in: body), try r.peekKind() == .array {
                let valueStart = r.offset
                m.blocks = try readBlocks(&r)
                m.content = ChatMember(kind: .array, memberRange: keyStart ..< r.offset, valueRange: valueStart ..< r.offset, hasEscapes: false)
                continue
            }
            let v = try r.skipValue()
            if key.equals("role", in: body) {
                m.role = v.stringSpan?.decodedString(in: body)
            } else if key.equals("content", in: body) {
                m.content = ChatMember(kind: v.kind, memberRange: keyStart ..< v.range.upperBound, valueRange: v.range, hasEscapes: v.hasEscapes)
                m.blocks = []
            }
        }
        m.range = m.range.lowerBound ..< r.offset
        return m
    }

    private static func readBlocks(_ r: inout JSONReader) throws -> [AnthropicBlock] {
        let body = r.bytes
        return try r.readObjects({ start, r in
            var block = AnthropicBlock(range: start ..< start)
            try r.beginObject()
            while let key = try r.nextKey() {
                let keyStart = key.content.lowerBound - 1
                let v = try r.skipValue()
                switch key.content.count {
                case 2 where key.equals("id", in: body): block.id = v.stringSpan?.decodedString(in: body)
                case 4 where key.equals("type", in: body):
                    block.type = AnthropicBlockType(v.stringSpan?.decodedString(in: body))
                case 4 where key.equals("name", in: body): block.name = v.stringSpan?.decodedString(in: body)
                case 5 where key.equals("input", in: body): block.input = v.range
                case 7 where key.equals("content", in: body):
                    block.content = ChatMember(kind: v.kind, memberRange: keyStart ..< v.range.upperBound, valueRange: v.range, hasEscapes: v.hasEscapes)
                case 11 where key.equals("tool_use_id", in: body): block.toolUseID = v.stringSpan?.decodedString(in: body)
                default:
                    if key.hasEscapes {
                        // Spelt with escapes: compare decoded (rare).
                        if key.equals("type", in: body) { block.type = AnthropicBlockType(v.stringSpan?.decodedString(in: body)) }
                        else if key.equals("id", in: body) { block.id = v.stringSpan?.decodedString(in: body) }
                        else if key.equals("name", in: body) { block.name = v.stringSpan?.decodedString(in: body) }
                        else if key.equals("input", in: body) { block.input = v.range }
                        else if key.equals("tool_use_id", in: body) { block.toolUseID = v.stringSpan?.decodedString(in: body) }
                    }
                }
            }
            block.range = start ..< r.offset
            return block
        }, other: { AnthropicBlock(range: $0) })
    }
}

/// One message of an Anthropic request.
public struct AnthropicMessage: Sendable {
    /// The message object, braces included.
    public var range: Range<Int>
    public var role: String?
    /// `content`: a string, or an array of blocks (`blocks`).
    public var content = ChatMember()
    /// The blocks of an array `content`; empty otherwise.
    public var blocks: [AnthropicBlock] = []

    init(range: Range<Int>) { self.range = range }

    /// Whether the message carries thinking (a `thinking` or `redacted_thinking` block).
    public var hasThinking: Bool { blocks.contains { $0.type.isThinking } }

    /// The `tool_use` blocks, in order.
    public var toolUses: [AnthropicBlock] { blocks.filter { $0.type == .toolUse } }
}

/// The kinds of content block thinkback tells apart.
public enum AnthropicBlockType: Sendable, Equatable {
    case text, thinking, redactedThinking, toolUse, toolResult, other

    init(_ name: String?) {
        switch name {
        case "text"?: self = .text
        case "thinking"?: self = .thinking
        case "redacted_thinking"?: self = .redactedThinking
        case "tool_use"?: self = .toolUse
        case "tool_result"?: self = .toolResult
        default: self = .other
        }
    }

    /// A block of the model's reasoning, which thinkback captures and restores.
    public var isThinking: Bool { self == .thinking || self == .redactedThinking }
}

/// One content block, as scanned.
public struct AnthropicBlock: Sendable {
    /// The block's bytes (an object, braces included; or any other value).
    public var range: Range<Int>
    public var type = AnthropicBlockType.other
    /// `tool_use`: `id`, `name`, and the span of `input` (JSON text).
    public var id: String?
    public var name: String?
    public var input: Range<Int>?
    /// `tool_result`: `tool_use_id` and `content`.
    public var toolUseID: String?
    public var content = ChatMember()

    init(range: Range<Int>) { self.range = range }
}
