/// How a stored reasoning's bytes are to be read back.
public struct ReasoningFormat: RawRepresentable, Hashable, Sendable {
    /// The tag as stored.
    public var rawValue: UInt8

    /// The format with tag `rawValue` (unknown tags are kept, for stores written by newer versions).
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// OpenAI-style `reasoning_content`: the bytes are the string's UTF-8, as the provider sent it.
    public static let reasoningContent = ReasoningFormat(rawValue: 0)
    /// Anthropic thinking blocks: the bytes are an encoded list of blocks.
    public static let anthropicThinking = ReasoningFormat(rawValue: 1)
    /// OpenAI-style `reasoning_content` as its JSON string literal, quotes included: encoded
    /// once at capture, spliced as it is into every request that restores it.
    public static let reasoningContentJSON = ReasoningFormat(rawValue: 2)
    /// Not reasoning: the marker a store keeps under a key that two different captures
    /// claimed (product.md §1: a key names one message, never its look-alikes). A lookup
    /// answers it like a value; restoration treats it as a miss. Its text is empty.
    public static let ambiguous = ReasoningFormat(rawValue: 255)
}

/// What the cache keeps per assistant message: the reasoning exactly as the provider produced
/// it (product.md §2: restored byte for byte), how to read it, and when it was captured.
public struct StoredReasoning: Hashable, Sendable {
    /// The reasoning bytes, unchanged. Empty is a real value: the model produced no reasoning,
    /// and that is what must be replayed (product.md §1).
    public var text: [UInt8]
    /// How to read `text`.
    public var format: ReasoningFormat
    /// When the reasoning was captured, in milliseconds since the Unix epoch (`StoreClock`).
    /// Stores measure the time-to-live from here, so a copy between stores keeps its age.
    public var storedAtMilliseconds: UInt64

    /// A value as captured at `storedAtMilliseconds`.
    public init(text: [UInt8], format: ReasoningFormat = .reasoningContent, storedAtMilliseconds: UInt64) {
        self.text = text
        self.format = format
        self.storedAtMilliseconds = storedAtMilliseconds
    }
}

extension StoredReasoning {
    /// The marker of a key two different captures claimed (`ReasoningFormat.ambiguous`).
    public static func ambiguityMarker(storedAtMilliseconds: UInt64) -> StoredReasoning {
        StoredReasoning(text: [], format: .ambiguous, storedAtMilliseconds: storedAtMilliseconds)
    }

    /// Whether this is the marker of an ambiguous key rather than reasoning.
    public var isAmbiguous: Bool { format == .ambiguous }

    /// Whether restoring `other` would send the same bytes as restoring this: the same format
    /// and text (the capture time does not matter). Two captures that agree here may share a
    /// key; two that differ make it ambiguous.
    public func restoresLike(_ other: StoredReasoning) -> Bool {
        format == other.format && text == other.text
    }

    /// A `reasoning_content` value stored as its JSON literal (`reasoningContentJSON`).
    public static func reasoningContent(_ text: [UInt8], storedAtMilliseconds: UInt64) -> StoredReasoning {
        StoredReasoning(text: JSONStringEncoder.encode(text), format: .reasoningContentJSON,
                        storedAtMilliseconds: storedAtMilliseconds)
    }

    /// The `reasoning_content` text of a value in either OpenAI format; nil for other formats.
    public var reasoningContentText: [UInt8]? {
        switch format {
        case .reasoningContent:
            return text
        case .reasoningContentJSON:
            guard text.count >= 2 else { return nil }
            var out: [UInt8] = []
            text.withUnsafeBytes { JSONStringDecoding.appendUnescaped(UnsafeRawBufferPointer(rebasing: $0[1 ..< $0.count - 1]), to: &out) }
            return out
        default:
            return nil
        }
    }

    /// Whether a value read back from outside this process (a file, a shared Redis) can be used
    /// as it is: a `reasoningContentJSON` value is spliced verbatim, so it must be exactly one
    /// JSON string literal; an `anthropicThinking` one must decode into JSON objects.
    public var isWellFormed: Bool {
        if format == .anthropicThinking { return AnthropicThinking(decoding: text) != nil }
        guard format == .reasoningContentJSON else { return true }
        return text.withUnsafeBytes { raw in
            guard raw.count >= 2, raw.first == UInt8(ascii: "\""), raw.last == UInt8(ascii: "\"") else { return false }
            return (try? JSONValidator.validate(raw))?.kind == .string
        }
    }

    /// Estimated bookkeeping per stored value beyond its text (slot, array headers).
    public static let entryOverheadBytes = 128
    /// Estimated bookkeeping per key beyond its `CacheKey.byteCount` (index slot, key list).
    public static let keyOverheadBytes = 96

    /// What a value stored under `keyCount` keys counts against a store's byte bound: its text
    /// once, every key with its overhead, and a fixed per-entry overhead. Every store counts
    /// this way, so a bound means the same in each.
    public func accountedBytes(keyCount: Int) -> Int {
        text.count + Self.entryOverheadBytes + keyCount * (CacheKey.byteCount + Self.keyOverheadBytes)
    }
}
