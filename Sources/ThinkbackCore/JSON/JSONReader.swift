/// A validating pull reader over the bytes of one JSON document (RFC 8259).
///
/// The reader walks the document in place: it never copies or decodes a value unless asked,
/// and reports positions as byte offsets into the buffer it was given. Everything it steps
/// over is validated (grammar, UTF-8 in strings, escapes, nesting depth), so a walk that
/// reaches `finish()` without throwing has validated the whole document.
///
/// Walking an object:
/// ```
/// try reader.beginObject()
/// while let key = try reader.nextKey() {      // positioned at the member's value
///     if key.equals("model", in: reader.bytes) { … try reader.readString() … }
///     else { _ = try reader.skipValue() }
/// }
/// ```
/// Arrays are walked the same way with `beginArray()` / `nextElement()`. A container must be
/// walked to its end (until `nextKey()` returns `nil` or `nextElement()` returns `false`)
/// before the enclosing one continues.
///
/// The reader borrows the buffer: it must outlive the reader (use it inside
/// `withUnsafeBytes`). Results are offsets, valid for that same buffer.
public struct JSONReader {
    /// The buffer being read.
    public let bytes: UnsafeRawBufferPointer
    @usableFromInline let p: UnsafePointer<UInt8>
    @usableFromInline let end: Int
    /// The current byte offset.
    public internal(set) var offset: Int
    /// The deepest nesting of objects and arrays accepted.
    public let maxDepth: Int
    /// How many containers are open around the current position.
    public internal(set) var depth: Int = 0
    /// True between `beginObject`/`beginArray` and the first `nextKey`/`nextElement`.
    @usableFromInline var atContainerStart = false

    /// The default nesting limit.
    public static let defaultMaxDepth = 512

    /// Creates a reader at `offset` (by default the start) of `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, maxDepth: Int = JSONReader.defaultMaxDepth) {
        self.bytes = bytes
        // An empty buffer may have no base address; nothing is ever read through it then.
        self.p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            ?? UnsafePointer(bitPattern: 0x10)!
        self.end = bytes.count
        self.offset = offset
        self.maxDepth = maxDepth
    }

    // MARK: Errors

    @inline(never)
    func error(_ reason: String, at position: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: position ?? offset, reason: reason)
    }

    @inline(never)
    func unexpected(_ expected: String) -> JSONSyntaxError {
        if offset >= end { return JSONSyntaxError(offset: end, reason: "unexpected end of input, expected \(expected)") }
        return JSONSyntaxError(offset: offset, reason: "expected \(expected)")
    }

    // MARK: Whitespace and peeking

    /// Skips JSON whitespace (space, tab, LF, CR).
    @inline(__always)
    public mutating func skipWhitespace() {
        while offset < end {
            let c = p[offset]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { offset += 1 } else { return }
        }
    }

    /// Skips whitespace and tells the kind of the next value from its first byte (the value
    /// itself is validated when it is read or skipped).
    public mutating func peekKind() throws(JSONSyntaxError) -> JSONValueKind {
        skipWhitespace()
        guard offset < end else { throw unexpected("a value") }
        switch p[offset] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw error("unexpected character, expected a value")
        }
    }

    /// Skips trailing whitespace and checks that nothing follows the document.
    public mutating func finish() throws(JSONSyntaxError) {
        skipWhitespace()
        if offset != end { throw error("unexpected data after the JSON value") }
    }

    // MARK: Containers

    /// Consumes `{` (after whitespace) and enters the object.
    public mutating func beginObject() throws(JSONSyntaxError) {
        skipWhitespace()
        guard offset < end, p[offset] == UInt8(ascii: "{") else { throw unexpected("'{'") }
        try enter()
    }

    /// Consumes `[` (after whitespace) and enters the array.
    public mutating func beginArray() throws(JSONSyntaxError) {
        skipWhitespace()
        guard offset < end, p[offset] == UInt8(ascii: "[") else { throw unexpected("'['") }
        try enter()
    }

    @inline(__always)
    mutating func enter() throws(JSONSyntaxError) {
        if depth >= maxDepth { throw error("nesting deeper than \(maxDepth)") }
        depth += 1
        offset += 1
        atContainerStart = true
    }

    /// Moves to the next member of the current object: returns its key, with the reader
    /// positioned at the start of the value (which the caller must read or skip), or `nil`
    /// after consuming the closing `}`.
    public mutating func nextKey() throws(JSONSyntaxError) -> JSONStringSpan? {
        skipWhitespace()
        guard offset < end else { throw unexpected("'}'") }
        let c = p[offset]
        if c == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            atContainerStart = false
            return nil
        }
        if atContainerStart {
            atContainerStart = false
        } else {
            guard c == UInt8(ascii: ",") else { throw unexpected("',' or '}'") }
            offset += 1
            skipWhitespace()
        }
        return try readKeyAndColon()
    }

    /// Reads `"key" :` and the whitespace after it.
    @inline(__always)
    mutating func readKeyAndColon() throws(JSONSyntaxError) -> JSONStringSpan {
        guard offset < end, p[offset] == UInt8(ascii: "\"") else { throw unexpected("a string key") }
        let key = try scanString()
        skipWhitespace()
        guard offset < end, p[offset] == UInt8(ascii: ":") else { throw unexpected("':'") }
        offset += 1
        skipWhitespace()
        return key
    }

    /// Moves to the next element of the current array: `true` with the reader positioned at
    /// the element (which the caller must read or skip), `false` after consuming `]`.
    public mutating func nextElement() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard offset < end else { throw unexpected("']'") }
        let c = p[offset]
        if c == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            atContainerStart = false
            return false
        }
        if atContainerStart {
            atContainerStart = false
        } else {
            guard c == UInt8(ascii: ",") else { throw unexpected("',' or ']'") }
            offset += 1
            skipWhitespace()
        }
        return true
    }

    /// Skips (and validates) the remaining members of the current object, through its `}`.
    public mutating func skipRestOfObject() throws(JSONSyntaxError) {
        while try nextKey() != nil { _ = try skipValue() }
    }

    /// Skips (and validates) the remaining elements of the current array, through its `]`.
    public mutating func skipRestOfArray() throws(JSONSyntaxError) {
        while try nextElement() { _ = try skipValue() }
    }

    // MARK: Scalars

    /// Reads a string value; returns the span of its (still escaped) contents.
    public mutating func readString() throws(JSONSyntaxError) -> JSONStringSpan {
        skipWhitespace()
        guard offset < end, p[offset] == UInt8(ascii: "\"") else { throw unexpected("a string") }
        return try scanString()
    }

    /// Reads a number value; returns the range of its literal text.
    public mutating func readNumber() throws(JSONSyntaxError) -> Range<Int> {
        skipWhitespace()
        let start = offset
        guard offset < end, p[offset] == UInt8(ascii: "-") || (p[offset] &- UInt8(ascii: "0")) < 10 else {
            throw unexpected("a number")
        }
        try scanNumber()
        return start ..< offset
    }

    /// Reads `true` or `false`.
    public mutating func readBool() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard offset < end else { throw unexpected("true or false") }
        switch p[offset] {
        case UInt8(ascii: "t"): try scanLiteral("true"); return true
        case UInt8(ascii: "f"): try scanLiteral("false"); return false
        default: throw unexpected("true or false")
        }
    }

    /// Reads `null`.
    public mutating func readNull() throws(JSONSyntaxError) {
        skipWhitespace()
        try scanLiteral("null")
    }

    /// Reads (validating) any value and returns its kind and span. Containers are skipped
    /// whole without recursion.
    public mutating func skipValue() throws(JSONSyntaxError) -> JSONValueSpan {
        skipWhitespace()
        let start = offset
        guard offset < end else { throw unexpected("a value") }
        switch p[offset] {
        case UInt8(ascii: "\""):
            let s = try scanString()
            return JSONValueSpan(kind: .string, range: start ..< offset, hasEscapes: s.hasEscapes)
        case UInt8(ascii: "{"):
            try skipContainer()
            return JSONValueSpan(kind: .object, range: start ..< offset)
        case UInt8(ascii: "["):
            try skipContainer()
            return JSONValueSpan(kind: .array, range: start ..< offset)
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"):
            try scanNumber()
            return JSONValueSpan(kind: .number, range: start ..< offset)
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return JSONValueSpan(kind: .bool, range: start ..< offset)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return JSONValueSpan(kind: .bool, range: start ..< offset)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return JSONValueSpan(kind: .null, range: start ..< offset)
        default:
            throw error("unexpected character, expected a value")
        }
    }
}
