/// What capture needs from a non-stream chat completion response body: per choice the final
/// message's reasoning, content and tool calls, and its finish reason.
///
/// Members other than those read are skipped (and validated). Choices that are not objects
/// are ignored; a choice without a usable `index` takes its position in the array. Duplicate
/// keys: last wins.
public struct ChatResponseScan: Sendable {
    /// The choices in array order.
    public var choices: [CapturedChoice]
    /// The spans of each choice's `message` object (same order as `choices`; empty range
    /// when the choice had no message object), for later rewriting.
    public var messageRanges: [Range<Int>]
    /// `model`, decoded.
    public var model: String?
    /// Each choice's `finish_reason` value (empty range when absent), same order as `choices`.
    public var finishReasonRanges: [Range<Int>] = []

    /// Scans a response body.
    public init(_ body: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) {
        var r = JSONReader(body, maxDepth: maxDepth)
        choices = []
        messageRanges = []
        model = nil
        guard try r.peekKind() == .object else {
            _ = try r.skipValue()
            try r.finish()
            return
        }
        try r.beginObject()
        while let key = try r.nextKey() {
            if key.equals("choices", in: body), try r.peekKind() == .array {
                choices = []
                messageRanges = []
                finishReasonRanges = []
                try r.beginArray()
                while try r.nextElement() {
                    guard try r.peekKind() == .object else { _ = try r.skipValue(); continue }
                    let (choice, range, finish) = try Self.readChoice(&r, position: choices.count)
                    choices.append(choice)
                    messageRanges.append(range)
                    finishReasonRanges.append(finish)
                }
            } else {
                let v = try r.skipValue()
                if key.equals("model", in: body) { model = v.stringSpan?.decodedString(in: body) }
            }
        }
        try r.finish()
    }

    /// Scans a response body.
    public init(_ body: [UInt8], maxDepth: Int = JSONReader.defaultMaxDepth) throws(JSONSyntaxError) {
        self = try withRawBytes(body) { (raw) throws(JSONSyntaxError) in try ChatResponseScan(raw, maxDepth: maxDepth) }
    }

    private static func readChoice(_ r: inout JSONReader, position: Int) throws(JSONSyntaxError) -> (CapturedChoice, Range<Int>, Range<Int>) {
        let body = r.bytes
        var choice = CapturedChoice(index: position, reasoningLiteral: nil, content: [], toolCalls: [], finishReason: nil)
        var messageRange = 0 ..< 0
        var finishRange = 0 ..< 0
        try r.beginObject()
        while let key = try r.nextKey() {
            if key.equals("message", in: body), try r.peekKind() == .object {
                let start = r.offset
                try readMessage(&r, into: &choice)
                messageRange = start ..< r.offset
                continue
            }
            let v = try r.skipValue()
            if key.equals("index", in: body) {
                if v.kind == .number, let n = r.integerValue(of: v.range) { choice.index = n }
            } else if key.equals("finish_reason", in: body) {
                choice.finishReason = v.stringSpan?.decodedString(in: body)
                finishRange = v.range
            }
        }
        return (choice, messageRange, finishRange)
    }

    private static func readMessage(_ r: inout JSONReader, into choice: inout CapturedChoice) throws(JSONSyntaxError) {
        let body = r.bytes
        choice.reasoningLiteral = nil
        choice.content = []
        choice.toolCalls = []
        try r.beginObject()
        while let key = try r.nextKey() {
            if key.equals("tool_calls", in: body), try r.peekKind() == .array {
                choice.toolCalls = try readToolCalls(&r)
                continue
            }
            let v = try r.skipValue()
            if key.equals("reasoning_content", in: body) {
                // As spelt: the stored literal is the provider's own (product.md §2).
                choice.reasoningLiteral = v.stringSpan.map { Array(UnsafeRawBufferPointer(rebasing: body[$0.content])) }
            } else if key.equals("content", in: body) {
                choice.content = ChatContentText.normalized(
                    ChatMember(kind: v.kind, memberRange: v.range, valueRange: v.range, hasEscapes: v.hasEscapes), in: body)
            } else if key.equals("tool_calls", in: body) {
                choice.toolCalls = []
            }
        }
    }

    /// Reads a `tool_calls` array (request or response shape) into decoded calls.
    static func readToolCalls(_ r: inout JSONReader) throws(JSONSyntaxError) -> [CapturedToolCall] {
        let body = r.bytes
        var calls: [CapturedToolCall] = []
        try r.beginArray()
        while try r.nextElement() {
            guard try r.peekKind() == .object else { _ = try r.skipValue(); continue }
            var call = CapturedToolCall(id: "", name: "", arguments: [])
            try r.beginObject()
            while let key = try r.nextKey() {
                if key.equals("function", in: body), try r.peekKind() == .object {
                    call.name = ""
                    call.arguments = []
                    try r.beginObject()
                    while let fkey = try r.nextKey() {
                        let v = try r.skipValue()
                        if fkey.equals("name", in: body) {
                            call.name = v.stringSpan?.decodedString(in: body) ?? ""
                        } else if fkey.equals("arguments", in: body) {
                            switch v.kind {
                            case .string: call.arguments = v.stringSpan!.decodedBytes(in: body)
                            case .null: call.arguments = []
                            default: call.arguments = Array(UnsafeRawBufferPointer(rebasing: body[v.range]))
                            }
                        }
                    }
                    continue
                }
                let v = try r.skipValue()
                if key.equals("id", in: body) { call.id = v.stringSpan?.decodedString(in: body) ?? "" }
            }
            calls.append(call)
        }
        return calls
    }
}
