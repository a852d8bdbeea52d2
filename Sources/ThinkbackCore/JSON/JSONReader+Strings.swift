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
        // Sixteen bytes at a time: a mask of the special bytes (quote, backslash, control,
        // non-ASCII), each handled in turn without reloading the block.
        while i &+ 16 <= end {
            var bits = Self.specialMask(UnsafeRawPointer(p + i))
            if bits == 0 {
                i &+= 16
                continue
            }
            let base = i
            repeat {
                let j = base &+ bits.trailingZeroBitCount
                let c = p[j]
                if c == UInt8(ascii: "\"") {
                    offset = j + 1
                    return JSONStringSpan(content: start ..< j, hasEscapes: escapes)
                }
                if c == UInt8(ascii: "\\") {
                    escapes = true
                    i = try Self.scanEscape(p, at: j, end)
                } else if c < 0x20 {
                    throw error("control character in string", at: j)
                } else {
                    i = try Self.scanNonASCII(p, at: j, end)
                }
                let consumed = i &- base
                if consumed >= 16 { break }
                bits &= ~0 &<< UInt32(consumed)
            } while bits != 0
            i = max(i, base &+ 16)
        }
        // The last bytes of the buffer, one at a time.
        while true {
            guard i < end else { throw error("unterminated string", at: start - 1) }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                offset = i + 1
                return JSONStringSpan(content: start ..< i, hasEscapes: escapes)
            }
            if c == UInt8(ascii: "\\") {
                escapes = true
                i = try Self.scanEscape(p, at: i, end)
            } else if c < 0x20 {
                throw error("control character in string", at: i)
            } else if c < 0x80 {
                i &+= 1
            } else {
                i = try Self.scanNonASCII(p, at: i, end)
            }
        }
    }

    /// Validates the run of non-ASCII text starting at `i` (a byte ≥ 0x80) up to the next
    /// ASCII byte or the end; returns where it stops. CJK is mostly three-byte sequences
    /// back to back: those are checked two at a time.
    @inline(__always)
    static func scanNonASCII(_ p: UnsafePointer<UInt8>, at start: Int, _ end: Int) throws(JSONSyntaxError) -> Int {
        var i = start
        repeat {
            // Two three-byte sequences with leads E1–EC or EE–EF (no second-byte range to
            // check) at a time.
            while i &+ 8 <= end {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                guard w & 0xC0C0_F0C0_C0F0 == 0x8080_E080_80E0,
                      Self.isPlainThreeByteLead(UInt8(truncatingIfNeeded: w)),
                      Self.isPlainThreeByteLead(UInt8(truncatingIfNeeded: w &>> 24)) else { break }
                i &+= 6
            }
            guard i < end, p[i] >= 0x80 else { break }
            let lead = p[i]
            if Self.isPlainThreeByteLead(lead), i &+ 2 < end,
               p[i &+ 1] & 0xC0 == 0x80, p[i &+ 2] & 0xC0 == 0x80 {
                i &+= 3
                continue
            }
            let n = UTF8Validation.sequenceLength(p, i, end)
            if n == 0 { throw JSONSyntaxError(offset: i, reason: "invalid UTF-8 in string") }
            i &+= n
        } while i < end && p[i] >= 0x80
        return i
    }

    /// Whether `lead` starts a three-byte sequence whose continuation bytes may be any of
    /// 0x80–0xBF (E1–EC, EE–EF; E0 and ED restrict the second byte).
    @inline(__always)
    static func isPlainThreeByteLead(_ lead: UInt8) -> Bool {
        lead &- 0xE1 <= 0xEF - 0xE1 && lead != 0xED
    }

    /// The special bytes (quote, backslash, below 0x20, at least 0x80) among the sixteen at
    /// `p`: for each 8-byte half (first bytes in the low bits), 0x80 in the position of
    /// every special byte and 0 elsewhere. Exact per byte (lanes do not carry), so the
    /// lowest set bit is the first special byte.
    @inline(__always)
    static func specialBytes(_ p: UnsafeRawPointer) -> (UInt64, UInt64) {
        let x = p.loadUnaligned(as: SIMD16<UInt8>.self)
        let low7 = x & SIMD16(repeating: 0x7F)
        // Per lane, the high bit of each term is set when the byte is *not* that kind of
        // special: not a quote, not a backslash, not below 0x20 (for bytes below 0x80).
        let notQuote = ((low7 ^ SIMD16(repeating: 0x22)) &+ SIMD16(repeating: 0x7F))
        let notBackslash = ((low7 ^ SIMD16(repeating: 0x5C)) &+ SIMD16(repeating: 0x7F))
        let notControl = low7 &+ SIMD16(repeating: 0x60)
        let ordinary = notQuote & notBackslash & notControl & ~x
        let special = ~ordinary & SIMD16(repeating: 0x80)
        return unsafeBitCast(special, to: (UInt64, UInt64).self)
    }

    /// `specialBytes` as a 16-bit mask: bit k set when byte k is special.
    @inline(__always)
    static func specialMask(_ p: UnsafeRawPointer) -> UInt32 {
        let (low, high) = specialBytes(p)
        // One bit per byte: the high bits gathered into the top byte by one multiplication.
        let gather: UInt64 = 0x0102_0408_1020_4080
        return UInt32(truncatingIfNeeded: ((low &>> 7) &* gather) &>> 56)
            | UInt32(truncatingIfNeeded: ((high &>> 7) &* gather) &>> 56) &<< 8
    }

    /// Validates the escape whose backslash is at `i`; returns the offset after it.
    @inline(__always)
    static func scanEscape(_ p: UnsafePointer<UInt8>, at i: Int, _ end: Int) throws(JSONSyntaxError) -> Int {
        guard i + 1 < end else { throw JSONSyntaxError(offset: i, reason: "unterminated string") }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            guard i + 6 <= end else { throw JSONSyntaxError(offset: i, reason: "truncated \\u escape") }
            for k in 2 ..< 6 where JSONStringDecoding.hexValue(p[i + k]) == 0xFF {
                throw JSONSyntaxError(offset: i + k, reason: "invalid hex digit in \\u escape")
            }
            return i + 6
        default:
            throw JSONSyntaxError(offset: i, reason: "invalid escape in string")
        }
    }
}
