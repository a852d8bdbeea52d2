/// One message of a scanned chat request.
public struct ChatRequestMessage: Sendable {
    /// The message object, braces included.
    public var range: Range<Int>
    /// Offset of the message's closing `}`: insert a member there (preceded by a comma
    /// unless `memberCount` is 0).
    public var closingBraceOffset: Int { range.upperBound - 1 }
    /// Number of members in the object (duplicates counted).
    public var memberCount: Int = 0
    /// `role`, decoded; `nil` if absent or not a string.
    public var role: String?
    /// `content`.
    public var content = ChatMember()
    /// `reasoning_content`.
    public var reasoning = ChatMember()
    /// `tool_calls`: the member, and its calls when it is an array.
    public var toolCallsMember = ChatMember()
    /// The calls of `tool_calls` when it is an array (elements that are not objects appear
    /// with every field `nil`).
    public var toolCalls: [ChatRequestToolCall] = []
    /// `tool_call_id` (tool messages), decoded.
    public var toolCallId: String?
    /// `name`, decoded.
    public var name: String?

    /// Creates an empty record for the object at `range`.
    public init(range: Range<Int>) {
        self.range = range
    }

    /// The state of `reasoning_content` as the restore rules see it.
    public var reasoningState: ReasoningState {
        switch reasoning.kind {
        case nil: return .absent
        case .null?: return .null
        case .string?: return reasoning.valueRange.count == 2 ? .empty : .nonEmpty
        default: return .notString
        }
    }

    /// The state of a message's `reasoning_content`.
    public enum ReasoningState: Sendable, Equatable {
        /// No `reasoning_content` member.
        case absent
        /// `"reasoning_content": null`.
        case null
        /// `"reasoning_content": ""`.
        case empty
        /// A non-empty string.
        case nonEmpty
        /// Some other JSON value (a number, an object…).
        case notString
    }

    /// The edit that sets `reasoning_content` to `encodedValue` (a JSON literal, e.g. from
    /// `JSONStringEncoder.encode`): replaces the existing member's value (its last occurrence),
    /// or inserts a member before the closing brace.
    public func reasoningEdit(encodedValue: [UInt8]) -> JSONEdit {
        let key: StaticString = "\"reasoning_content\":"
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encodedValue.count + key.utf8CodeUnitCount + 1)
        if reasoning.isPresent {
            // Only the value changes: the client's key spelling and spacing stay as sent.
            return .replace(reasoning.valueRange, with: encodedValue)
        }
        if memberCount > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(contentsOf: encodedValue)
        return .insert(bytes, at: closingBraceOffset)
    }

    /// `reasoningEdit(encodedValue:)` with `text` (UTF-8) encoded as a JSON string straight
    /// into the edit's bytes: one allocation, no intermediate literal.
    public func reasoningEdit(encoding text: UnsafeRawBufferPointer) -> JSONEdit {
        if reasoning.isPresent { return .replace(reasoning.valueRange, with: JSONStringEncoder.encode(text)) }
        let key: StaticString = "\"reasoning_content\":"
        let comma = memberCount > 0 ? 1 : 0
        let count = comma + key.utf8CodeUnitCount + JSONStringEncoder.encodedCount(text)
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = buffer.baseAddress!
            if comma == 1 { base[0] = UInt8(ascii: ",") }
            (base + comma).initialize(from: key.utf8Start, count: key.utf8CodeUnitCount)
            let written = JSONStringEncoder.write(text, to: base + comma + key.utf8CodeUnitCount)
            initialized = comma + key.utf8CodeUnitCount + written
        }
        return .insert(bytes, at: closingBraceOffset)
    }

    /// The normalised content text used in content keys: the string, or the `text` members
    /// of the array's parts concatenated, trimmed of whitespace; empty for anything else.
    public func normalizedContent(in body: UnsafeRawBufferPointer) -> [UInt8] {
        ChatContentText.normalized(content, in: body)
    }
}

/// A member of an object as scanned: absent, or the spans of `"key": value` and of the value.
public struct ChatMember: Sendable, Equatable {
    /// The value's kind; `nil` when the member is absent.
    public var kind: JSONValueKind?
    /// From the key's opening quote to the end of the value (empty when absent).
    public var memberRange: Range<Int> = 0 ..< 0
    /// The value's bytes (empty when absent).
    public var valueRange: Range<Int> = 0 ..< 0
    /// For a string value: whether it has escapes.
    public var hasEscapes = false

    /// An absent member.
    public init() {}

    /// A present member.
    public init(kind: JSONValueKind, memberRange: Range<Int>, valueRange: Range<Int>, hasEscapes: Bool) {
        self.kind = kind
        self.memberRange = memberRange
        self.valueRange = valueRange
        self.hasEscapes = hasEscapes
    }

    /// Whether the member is present.
    public var isPresent: Bool { kind != nil }

    /// For a string value, its contents span.
    public var stringSpan: JSONStringSpan? {
        guard kind == .string else { return nil }
        return JSONStringSpan(content: valueRange.lowerBound + 1 ..< valueRange.upperBound - 1, hasEscapes: hasEscapes)
    }
}

/// One element of an assistant message's `tool_calls`.
public struct ChatRequestToolCall: Sendable {
    /// The element's span.
    public var range: Range<Int>
    /// `id`, decoded.
    public var id: String?
    /// `function.name`, decoded.
    public var name: String?
    /// `function.arguments`: normally a string holding JSON; some clients send the object.
    public var arguments = ChatMember()

    /// Creates a record for the element at `range`.
    public init(range: Range<Int>) {
        self.range = range
    }

    /// The arguments text: a string's decoded bytes, or the raw bytes of any other value
    /// (an object sent unstringified canonicalises the same); `nil` if absent or null.
    public func argumentsText(in body: UnsafeRawBufferPointer) -> [UInt8]? {
        switch arguments.kind {
        case nil, .null?: return nil
        case .string?: return arguments.stringSpan!.decodedBytes(in: body)
        default: return Array(UnsafeRawBufferPointer(rebasing: body[arguments.valueRange]))
        }
    }
}
