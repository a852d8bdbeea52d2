import CByteClass

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
            // Sixty-four bytes at a time (the string's end may lie anywhere in the block: what
            // follows it is never looked at): a mask of the special bytes (quote, backslash,
            // control, non-ASCII), each handled in turn without reloading the block.
            while i &+ 64 <= end {
                var bits = tb_string_specials64(p + i)
                if bits == 0 {
                    i &+= 64
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
                    if consumed >= 64 { break }
                    bits &= ~0 &<< UInt64(consumed)
                } while bits != 0
                i = max(i, base &+ 64)
            }
            // The last 64 bytes of the buffer: sixteen at a time to the next special byte,
            // then byte by byte.
            while i &+ 16 <= end {
                let bits = tb_string_specials16(p + i)
                if bits != 0 {
                    i &+= bits.trailingZeroBitCount
                    break
                }
                i &+= 16
            }
            guard i < end else { throw error("unterminated string", at: start - 1) }
            // The cases of the block loop above, written out again: one shared helper measured
            // 3-5% slower on code-like histories (bench/json-throughput).
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
