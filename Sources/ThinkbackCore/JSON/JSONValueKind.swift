/// The kind of a JSON value, known from its first byte.
public enum JSONValueKind: Sendable, Equatable {
    case object
    case array
    case string
    case number
    case bool
    case null
}

/// A scanned value: its kind and its bytes in the buffer (for a string, including the quotes).
public struct JSONValueSpan: Sendable, Equatable {
    /// What the value is.
    public var kind: JSONValueKind
    /// The value's bytes, from its first byte to just after its last one.
    public var range: Range<Int>
    /// For a string: whether it contains a backslash escape (so decoding is not a plain copy).
    public var hasEscapes: Bool

    /// Creates a span.
    public init(kind: JSONValueKind, range: Range<Int>, hasEscapes: Bool = false) {
        self.kind = kind
        self.range = range
        self.hasEscapes = hasEscapes
    }

    /// For a string value, the span of its contents (between the quotes); `nil` otherwise.
    public var stringSpan: JSONStringSpan? {
        guard kind == .string else { return nil }
        return JSONStringSpan(content: range.lowerBound + 1 ..< range.upperBound - 1, hasEscapes: hasEscapes)
    }
}
