/// The contents of a scanned JSON string (the bytes between its quotes), still escaped.
///
/// A span is only offsets: decode it against the same buffer it was scanned from. Decoding
/// turns escapes into UTF-8; an unpaired surrogate escape (`"\ud800"`, valid JSON syntax)
/// decodes to U+FFFD.
public struct JSONStringSpan: Sendable, Equatable, Hashable {
    /// The raw bytes between the quotes.
    public var content: Range<Int>
    /// Whether `content` contains a backslash escape.
    public var hasEscapes: Bool

    /// Creates a span over raw string contents.
    public init(content: Range<Int>, hasEscapes: Bool) {
        self.content = content
        self.hasEscapes = hasEscapes
    }

    /// The span including the surrounding quotes.
    public var quotedRange: Range<Int> { content.lowerBound - 1 ..< content.upperBound + 1 }

    /// Whether the decoded string is empty.
    public var isEmpty: Bool { content.isEmpty }

    /// Appends the decoded UTF-8 bytes to `output`.
    public func appendDecoded(from buffer: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        let source = UnsafeRawBufferPointer(rebasing: buffer[content])
        if !hasEscapes {
            output.append(contentsOf: source)
            return
        }
        JSONStringDecoding.appendUnescaped(source, to: &output)
    }

    /// The decoded UTF-8 bytes.
    public func decodedBytes(in buffer: UnsafeRawBufferPointer) -> [UInt8] {
        if !hasEscapes { return Array(UnsafeRawBufferPointer(rebasing: buffer[content])) }
        var output: [UInt8] = []
        output.reserveCapacity(content.count)
        JSONStringDecoding.appendUnescaped(UnsafeRawBufferPointer(rebasing: buffer[content]), to: &output)
        return output
    }

    /// The decoded value as a `String`.
    public func decodedString(in buffer: UnsafeRawBufferPointer) -> String {
        if !hasEscapes { return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[content]), as: UTF8.self) }
        return String(decoding: decodedBytes(in: buffer), as: UTF8.self)
    }

    /// Whether the decoded value equals `literal` (an ASCII or UTF-8 string literal).
    public func equals(_ literal: StaticString, in buffer: UnsafeRawBufferPointer) -> Bool {
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        if !hasEscapes {
            guard content.count == expected.count else { return false }
            return RawBytes.equal(UnsafeRawBufferPointer(rebasing: buffer[content]), expected)
        }
        // An escaped spelling is never shorter than the value, so a short one cannot match.
        guard content.count >= expected.count else { return false }
        return decodedBytes(in: buffer).withUnsafeBytes { RawBytes.equal($0, expected) }
    }

    /// Decoded-value equality with another span of the same or another buffer.
    public func decodedEquals(_ other: JSONStringSpan, in buffer: UnsafeRawBufferPointer,
                              otherBuffer: UnsafeRawBufferPointer) -> Bool {
        if !hasEscapes && !other.hasEscapes {
            return RawBytes.equal(UnsafeRawBufferPointer(rebasing: buffer[content]),
                                  UnsafeRawBufferPointer(rebasing: otherBuffer[other.content]))
        }
        return decodedBytes(in: buffer) == other.decodedBytes(in: otherBuffer)
    }
}
