extension JSONReader {
    /// Scans a string whose opening quote is at `offset`; leaves `offset` after the closing
    /// quote. Validates escapes, rejects control characters and ill-formed UTF-8.
    @usableFromInline
    mutating func scanString() throws(JSONSyntaxError) -> JSONStringSpan {
        let start = offset + 1
        var i = start
        var escapes = false
        let p = self.p
        let end = self.end
        while true {
            // Eight bytes at a time while none is special (quote, backslash, control, non-ASCII).
            while i &+ 8 <= end {
                let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if Self.hasSpecialByte(word) { break }
                i &+= 8
            }
            guard i < end else { throw error("unterminated string", at: start - 1) }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                offset = i + 1
                return JSONStringSpan(content: start ..< i, hasEscapes: escapes)
            }
            if c == UInt8(ascii: "\\") {
                escapes = true
                i = try scanEscape(at: i)
            } else if c < 0x20 {
                throw error("control character in string", at: i)
            } else if c < 0x80 {
                i &+= 1
            } else {
                // A run of non-ASCII text (CJK is mostly three-byte sequences back to back):
                // stay in this loop until the next ASCII byte.
                repeat {
                    let lead = p[i]
                    if lead >= 0xE1, lead <= 0xEF, lead != 0xED, i &+ 2 < end,
                       p[i &+ 1] & 0xC0 == 0x80, p[i &+ 2] & 0xC0 == 0x80 {
                        i &+= 3
                        continue
                    }
                    let n = UTF8Validation.sequenceLength(p, i, end)
                    if n == 0 { throw error("invalid UTF-8 in string", at: i) }
                    i &+= n
                } while i < end && p[i] >= 0x80
            }
        }
    }

    /// Validates the escape whose backslash is at `i`; returns the offset after it.
    @inline(__always)
    func scanEscape(at i: Int) throws(JSONSyntaxError) -> Int {
        guard i + 1 < end else { throw error("unterminated string", at: i) }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            guard i + 6 <= end else { throw error("truncated \\u escape", at: i) }
            for k in 2 ..< 6 where JSONStringDecoding.hexValue(p[i + k]) == 0xFF {
                throw error("invalid hex digit in \\u escape", at: i + k)
            }
            return i + 6
        default:
            throw error("invalid escape in string", at: i)
        }
    }

    /// Whether any byte of `word` is `"`, `\`, below 0x20 or at least 0x80.
    @inline(__always)
    static func hasSpecialByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        // (x - 0x01…) & ~x & 0x80… is non-zero iff some byte of x is zero; the same with 0x20
        // finds a byte below 0x20 (exact as long as we only ask "is there one").
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (word | zeroQuote | zeroBackslash | control) & highs != 0
    }
}
