/// The normalised text of a message's `content`, as content keys use it (product.md §1):
/// a string's value, or the `text` members of an array's parts concatenated (parts without a
/// string `text`, such as images, add nothing), then trimmed of leading and trailing ASCII
/// whitespace (space, tab, LF, VT, FF, CR). `null`, absent or any other value give empty text.
public enum ChatContentText {
    /// The normalised text of a scanned `content` member.
    public static func normalized(_ content: ChatMember, in body: UnsafeRawBufferPointer) -> [UInt8] {
        trimmed(text(content, in: body))
    }

    /// The text of a scanned `content` member, not trimmed: a string's value, or the `text`
    /// members of an array's parts concatenated (e.g. to send a `tool` message's list content
    /// as a string to a provider that refuses lists).
    public static func text(_ content: ChatMember, in body: UnsafeRawBufferPointer) -> [UInt8] {
        var text: [UInt8] = []
        appendText(content, in: body, to: &text)
        return text
    }

    /// Appends the text of a scanned `content` member (see `text`).
    static func appendText(_ content: ChatMember, in body: UnsafeRawBufferPointer, to text: inout [UInt8]) {
        switch content.kind {
        case .string?:
            content.stringSpan!.appendDecoded(from: body, to: &text)
        case .array?:
            var reader = JSONReader(body, offset: content.valueRange.lowerBound, maxDepth: .max)
            // The body was validated by the scan that produced `content`.
            try? appendTextParts(&reader, to: &text)
        default:
            break
        }
    }

    /// Reads an array of content parts, appending each part's `text` string.
    static func appendTextParts(_ reader: inout JSONReader, to text: inout [UInt8]) throws(JSONSyntaxError) {
        try reader.beginArray()
        while try reader.nextElement() {
            guard try reader.peekKind() == .object else {
                _ = try reader.skipValue()
                continue
            }
            try reader.beginObject()
            var part: JSONStringSpan?
            while let key = try reader.nextKey() {
                let value = try reader.skipValue()
                if key.equals("text", in: reader.bytes) { part = value.stringSpan }
            }
            part?.appendDecoded(from: reader.bytes, to: &text)
        }
    }

    /// `bytes` without leading and trailing ASCII whitespace.
    public static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var lo = 0
        var hi = bytes.count
        while lo < hi, isSpace(bytes[lo]) { lo += 1 }
        while hi > lo, isSpace(bytes[hi - 1]) { hi -= 1 }
        if lo == 0 && hi == bytes.count { return bytes }
        return Array(bytes[lo ..< hi])
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }
}
