/// What one pass over an OpenAI chat-completions request body found: the few top-level
/// fields thinkback acts on and, per message, the spans needed to restore reasoning, rewrite
/// tool calls or remove messages by splicing the original bytes.
///
/// Everything is byte offsets into the scanned body; values that are small are decoded
/// (model, role, ids, names), large ones are given as spans to decode on demand. The scan
/// validates the whole body (every byte, including members it does not read).
///
/// Duplicate keys: the last occurrence wins, as in most JSON parsers (and so, presumably, at
/// the provider). An edit of a field therefore targets its last occurrence.
public struct ChatRequestScan: Sendable {
    /// `model`, decoded; `nil` if absent or not a string.
    public var model: String?
    /// `stream`; `nil` if absent or not a boolean.
    public var stream: Bool?
    /// `thinking.type`, decoded; `nil` if absent or not a string.
    public var thinkingType: String?
    /// The span of the `messages` array, brackets included.
    public var messagesRange: Range<Int>
    /// The messages in order.
    public var messages: [ChatRequestMessage]
    /// `model`, as a member (its last occurrence), for a fix of its value.
    public var modelMember = ChatMember()
    /// `tool_choice` (its last occurrence).
    public var toolChoice = ChatMember()
    /// The names of the functions `tools` offers (`tools[].function.name`).
    public var toolNames: [String] = []

    /// Scans a request body.
    public init(_ body: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) throws(ChatRequestScanError) {
        self = try ChatRequestParser.parse(body, maxDepth: maxDepth)
    }

    /// Scans a request body.
    public init(_ body: [UInt8], maxDepth: Int = JSONReader.defaultMaxDepth) throws(ChatRequestScanError) {
        self = try withRawBytes(body) { (raw) throws(ChatRequestScanError) in try ChatRequestParser.parse(raw, maxDepth: maxDepth) }
    }

    init(model: String?, stream: Bool?, thinkingType: String?, messagesRange: Range<Int>, messages: [ChatRequestMessage]) {
        self.model = model
        self.stream = stream
        self.thinkingType = thinkingType
        self.messagesRange = messagesRange
        self.messages = messages
    }
}

/// Why a request body could not be scanned: not JSON at all, or JSON of the wrong shape.
public enum ChatRequestScanError: Error, Equatable, Sendable {
    /// The body is not valid JSON.
    case syntax(JSONSyntaxError)
    /// The body is JSON but not a chat request: the top level is not an object, `messages`
    /// is missing or not an array, or a message is not an object.
    case shape(ChatRequestShapeError)

    /// Byte offset of the problem.
    public var offset: Int {
        switch self {
        case .syntax(let e): return e.offset
        case .shape(let e): return e.offset
        }
    }

    /// Short description of the problem.
    public var reason: String {
        switch self {
        case .syntax(let e): return e.reason
        case .shape(let e): return e.reason
        }
    }
}

/// Valid JSON that is not shaped like a chat-completions request.
public struct ChatRequestShapeError: Error, Equatable, Sendable {
    /// Byte offset of the offending value.
    public var offset: Int
    /// What was wrong ("top level is not an object", "messages is not an array", …).
    public var reason: String

    /// Creates an error.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
}
