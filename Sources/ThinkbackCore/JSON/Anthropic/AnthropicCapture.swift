/// One `tool_use` block of an answer, decoded.
public struct CapturedToolUse: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `input` as JSON text.
    public var input: [UInt8]

    public init(id: String, name: String, input: [UInt8]) {
        self.id = id
        self.name = name
        self.input = input
    }
}

/// An Anthropic answer's assistant message, as capture records it (issue 19): its thinking and
/// redacted blocks with their places, its text, its tool calls.
public struct CapturedAnthropicMessage: Sendable, Equatable {
    /// Thinking and redacted_thinking blocks, in order, each with its place.
    public var thinking: [AnthropicThinking.Block]
    /// The text blocks' text joined, trimmed (as `ChatContentText.normalized` reads a request).
    public var content: [UInt8]
    public var toolUses: [CapturedToolUse]
    /// `stop_reason`, if any.
    public var stopReason: String?

    public init(thinking: [AnthropicThinking.Block], content: [UInt8], toolUses: [CapturedToolUse], stopReason: String?) {
        self.thinking = thinking
        self.content = content
        self.toolUses = toolUses
        self.stopReason = stopReason
    }

    /// The id-free content key: the same fields a request's assistant message is keyed by.
    public var contentKey: ContentKeyHasher {
        var hasher = ContentKeyHasher(content: content)
        for use in toolUses { hasher.addToolCall(name: use.name.utf8, arguments: JSONCanonical.canonicalArguments(use.input)) }
        return hasher
    }

    /// Reads a whole (non-stream) answer: `{"type":"message","content":[…],…}`. nil if it is
    /// not one (invalid JSON, no content array).
    public init?(response bytes: UnsafeRawBufferPointer) {
        var r = JSONReader(bytes)
        var captured: CapturedAnthropicMessage?
        var stopReason: String?
        do {
            guard try r.peekKind() == .object else { return nil }
            try r.beginObject()
            while let key = try r.nextKey() {
                if key.equals("content", in: bytes), try r.peekKind() == .array {
                    captured = try Self.readBlocks(&r)
                } else {
                    let v = try r.skipValue()
                    if key.equals("stop_reason", in: bytes) { stopReason = v.stringSpan?.decodedString(in: bytes) }
                    if key.equals("content", in: bytes) { captured = nil }
                }
            }
            try r.finish()
        } catch {
            return nil
        }
        guard var captured else { return nil }
        captured.stopReason = stopReason
        self = captured
    }

    private static func readBlocks(_ r: inout JSONReader) throws -> CapturedAnthropicMessage {
        let body = r.bytes
        var message = CapturedAnthropicMessage(thinking: [], content: [], toolUses: [], stopReason: nil)
        var others = 0
        var text: [UInt8] = []
        try r.beginArray()
        while try r.nextElement() {
            r.skipWhitespace()
            let start = r.offset
            guard try r.peekKind() == .object else {
                _ = try r.skipValue()
                others += 1
                continue
            }
            var type: String?
            var id = "", name = ""
            var input: Range<Int>?
            var textSpan: JSONStringSpan?
            try r.beginObject()
            while let key = try r.nextKey() {
                let v = try r.skipValue()
                if key.equals("type", in: body) { type = v.stringSpan?.decodedString(in: body) }
                else if key.equals("id", in: body) { id = v.stringSpan?.decodedString(in: body) ?? "" }
                else if key.equals("name", in: body) { name = v.stringSpan?.decodedString(in: body) ?? "" }
                else if key.equals("input", in: body) { input = v.range }
                else if key.equals("text", in: body) { textSpan = v.stringSpan }
            }
            let range = start ..< r.offset
            switch type {
            case "thinking"?, "redacted_thinking"?:
                message.thinking.append(.init(before: others, bytes: Array(body[range])))
                continue
            case "tool_use"?:
                message.toolUses.append(CapturedToolUse(id: id, name: name, input: input.map { Array(body[$0]) } ?? []))
            default:
                textSpan?.appendDecoded(from: body, to: &text)
            }
            others += 1
        }
        message.content = ChatContentText.trimmed(text)
        return message
    }
}

/// Follows an Anthropic stream's events (`message_start`, `content_block_start`,
/// `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`; pings and
/// unknown events pass unread) and rebuilds the answer's message: thinking blocks from their
/// `thinking_delta` and `signature_delta` pieces, joined per block index, text from
/// `text_delta`, tool input from `input_json_delta`.
public struct AnthropicStreamCapture: Sendable {
    private struct Block {
        var type: String
        var id = ""
        var name = ""
        /// The start event's `input` (used when no `input_json_delta` came).
        var startInput: [UInt8] = []
        /// Pieces joined as they were spelt (escaped, between quotes): decoded at the end, so a
        /// character split between two events stays whole.
        var main: [UInt8] = []       // thinking / text / partial_json / data
        var signature: [UInt8] = []
        var sawInputDelta = false
    }

    private var blocks: [Int: Block] = [:]
    private var order: [Int] = []
    private var stopReason: String?
    /// Bytes held so far (for the recorder's bound).
    public private(set) var byteCount = 0
    /// `message_stop` arrived.
    public private(set) var sawStop = false
    /// An `error` event arrived, or an event that breaks the stream's rules.
    public private(set) var failed = false

    public init() {}

    /// One event's `data`.
    public mutating func feed(_ data: UnsafeRawBufferPointer) {
        guard !failed, !sawStop else { return }
        var r = JSONReader(data)
        var type: String?
        var index: Int?
        var block: JSONValueSpan?
        var delta: JSONValueSpan?
        do {
            guard try r.peekKind() == .object else { return }
            try r.beginObject()
            while let key = try r.nextKey() {
                let v = try r.skipValue()
                if key.equals("type", in: data) { type = v.stringSpan?.decodedString(in: data) }
                else if key.equals("index", in: data), v.kind == .number { index = Int(String(decoding: data[v.range], as: UTF8.self)) }
                else if key.equals("content_block", in: data), v.kind == .object { block = v }
                else if key.equals("delta", in: data), v.kind == .object { delta = v }
            }
            try r.finish()
        } catch {
            return   // not JSON: not an event capture reads
        }
        switch type {
        case "content_block_start"?:
            guard let index, let block, blocks[index] == nil else { failed = true; return }
            let fields = Self.members(of: block, in: data)
            var b = Block(type: fields.string("type") ?? "")
            b.id = fields.string("id") ?? ""
            b.name = fields.string("name") ?? ""
            b.startInput = fields.raw("input") ?? []
            // A start may carry text already (a whole block in one event).
            for name in ["thinking", "text", "data"] { if let s = fields.literal(name) { b.main += s } }
            if let s = fields.literal("signature") { b.signature += s }
            blocks[index] = b
            order.append(index)
            // Counted by the event's size (at least what it keeps): empty starts cost memory too.
            byteCount = byteCount &+ data.count
        case "content_block_delta"?:
            guard let index, let delta, var b = blocks[index] else { failed = true; return }
            let fields = Self.members(of: delta, in: data)
            switch fields.string("type") {
            case "thinking_delta"?: b.main += fields.literal("thinking") ?? []
            case "signature_delta"?: b.signature += fields.literal("signature") ?? []
            case "text_delta"?: b.main += fields.literal("text") ?? []
            case "input_json_delta"?:
                b.main += fields.literal("partial_json") ?? []
                b.sawInputDelta = true
            default: break
            }
            byteCount = byteCount &+ data.count
            blocks[index] = b
        case "message_delta"?:
            if let delta, let reason = Self.members(of: delta, in: data).string("stop_reason") { stopReason = reason }
        case "message_stop"?:
            sawStop = true
        case "error"?:
            failed = true
        default:
            break
        }
    }

    /// The message, once `message_stop` arrived and nothing failed.
    public func result() -> CapturedAnthropicMessage? {
        guard sawStop, !failed else { return nil }
        var message = CapturedAnthropicMessage(thinking: [], content: [], toolUses: [], stopReason: stopReason)
        var text: [UInt8] = []
        var others = 0
        for index in order.sorted() {
            guard let b = blocks[index] else { continue }
            switch b.type {
            case "thinking":
                var bytes = Array(#"{"type":"thinking","thinking":""#.utf8)
                bytes += b.main
                bytes += Array(#"","signature":""#.utf8)
                bytes += b.signature
                bytes += Array(#""}"#.utf8)
                message.thinking.append(.init(before: others, bytes: bytes))
                continue
            case "redacted_thinking":
                let bytes = Array(#"{"type":"redacted_thinking","data":""#.utf8) + b.main + Array(#""}"#.utf8)
                message.thinking.append(.init(before: others, bytes: bytes))
                continue
            case "text":
                b.main.withUnsafeBytes { JSONStringDecoding.appendUnescaped($0, to: &text) }
            case "tool_use":
                var input: [UInt8] = []
                if b.sawInputDelta {
                    b.main.withUnsafeBytes { JSONStringDecoding.appendUnescaped($0, to: &input) }
                } else {
                    input = b.startInput
                }
                message.toolUses.append(CapturedToolUse(id: b.id, name: b.name, input: input))
            default:
                break
            }
            others += 1
        }
        message.content = ChatContentText.trimmed(text)
        return message
    }

    /// The members of a flat object, by name (the last of a repeated name wins).
    private static func members(of value: JSONValueSpan, in data: UnsafeRawBufferPointer) -> Members {
        var out = Members(data: data)
        var r = JSONReader(UnsafeRawBufferPointer(rebasing: data[value.range]))
        do {
            try r.beginObject()
            while let key = try r.nextKey() {
                let v = try r.skipValue()
                let shifted = JSONValueSpan(kind: v.kind, range: v.range.lowerBound + value.range.lowerBound ..< v.range.upperBound + value.range.lowerBound,
                                            hasEscapes: v.hasEscapes)
                out.values[key.decodedString(in: r.bytes)] = shifted
            }
        } catch {}
        return out
    }

    private struct Members {
        let data: UnsafeRawBufferPointer
        var values: [String: JSONValueSpan] = [:]
        init(data: UnsafeRawBufferPointer) { self.data = data }
        func string(_ name: String) -> String? { values[name]?.stringSpan?.decodedString(in: data) }
        /// A string's escaped contents (between the quotes), as spelt.
        func literal(_ name: String) -> [UInt8]? { values[name]?.stringSpan.map { Array(data[$0.content]) } }
        func raw(_ name: String) -> [UInt8]? { values[name].map { Array(data[$0.range]) } }
    }
}

/// An Anthropic stream's recorder: its message.
public typealias AnthropicStreamRecorder = SSERecorder<AnthropicStreamCapture>

extension AnthropicStreamCapture: SSEAnswerCapture {
    public var sawEnd: Bool { sawStop }
}
