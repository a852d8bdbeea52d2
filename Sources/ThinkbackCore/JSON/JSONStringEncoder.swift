import CByteClass

/// Writes arbitrary UTF-8 text as a JSON string literal for injection into a document.
///
/// Only what JSON requires is escaped: `"` and `\` as `\"` and `\\`, control characters below
/// 0x20 as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`. Every other byte is copied as it is
/// (no `\uXXXX` for non-ASCII, no `\/`), so the provider decodes exactly the text it
/// produced. Ill-formed UTF-8 cannot be carried by a JSON document: each byte that is not
/// part of a well-formed sequence is written as U+FFFD, so the output is always valid JSON.
public enum JSONStringEncoder {
    /// The quoted literal for `text`.
    public static func encode(_ text: UnsafeRawBufferPointer) -> [UInt8] {
        let n = encodedCount(text)
        return [UInt8](unsafeUninitializedCapacity: n) { buffer, initialized in
            initialized = write(text, to: buffer.baseAddress!)
        }
    }

    /// The quoted literal for `text`.
    public static func encode(_ text: [UInt8]) -> [UInt8] {
        text.withUnsafeBytes { encode($0) }
    }

    /// The quoted literal for `text`.
    public static func encode(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { encode(UnsafeRawBufferPointer($0)) }
    }

    /// Appends the quoted literal for `text` to `output`.
    public static func append(_ text: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        let n = encodedCount(text)
        let old = output.count
        output.append(contentsOf: repeatElement(0, count: n))
        output.withUnsafeMutableBufferPointer { buffer in
            _ = write(text, to: buffer.baseAddress! + old)
        }
    }

    /// The length of the quoted literal for `text`, quotes included.
    public static func encodedCount(_ text: UnsafeRawBufferPointer) -> Int {
        var n = 2
        walk(text) { piece in
            switch piece {
            case .run(let range): n += range.count
            case .escape(let byte): n += shortEscape(byte) == nil ? 6 : 2
            case .replacement: n += 3
            }
        }
        return n
    }

    /// Writes the quoted literal; returns the number of bytes written.
    static func write(_ text: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var o = 0
        out[o] = UInt8(ascii: "\""); o += 1
        walk(text) { piece in
            switch piece {
            case .run(let range):
                if !range.isEmpty {
                    UnsafeMutableRawPointer(out + o).copyMemory(from: text.baseAddress! + range.lowerBound, byteCount: range.count)
                    o += range.count
                }
            case .escape(let byte):
                out[o] = UInt8(ascii: "\\")
                if let short = shortEscape(byte) {
                    out[o + 1] = short
                    o += 2
                } else {
                    let hex: StaticString = "0123456789abcdef"
                    out[o + 1] = UInt8(ascii: "u")
                    out[o + 2] = UInt8(ascii: "0")
                    out[o + 3] = UInt8(ascii: "0")
                    out[o + 4] = hex.utf8Start[Int(byte >> 4)]
                    out[o + 5] = hex.utf8Start[Int(byte & 0xF)]
                    o += 6
                }
            case .replacement:
                out[o] = 0xEF; out[o + 1] = 0xBF; out[o + 2] = 0xBD
                o += 3
            }
        }
        out[o] = UInt8(ascii: "\""); o += 1
        return o
    }

    private enum Piece {
        case run(Range<Int>)
        case escape(UInt8)
        case replacement
    }

    /// Splits `text` into runs copied verbatim, bytes to escape, and ill-formed bytes.
    @inline(__always)
    private static func walk(_ text: UnsafeRawBufferPointer, _ body: (Piece) -> Void) {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let end = text.count
        var runStart = 0
        var i = 0
        while i < end {
            // Sixteen bytes at a time, straight to the first that is not plain ASCII (a
            // quote, backslash, control or high byte), then eight.
            while i + 16 <= end {
                let bits = tb_string_specials16(base + i)
                if bits != 0 {
                    i += bits.trailingZeroBitCount
                    break
                }
                i += 16
            }
            while i + 8 <= end {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if needsAttention(w) { break }
                i += 8
            }
            guard i < end else { break }
            let c = base[i]
            if c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            if c >= 0x80 {
                let n = UTF8Validation.sequenceLength(base, i, end)
                if n > 0 { i += n; continue }
                body(.run(runStart ..< i))
                body(.replacement)
            } else {
                body(.run(runStart ..< i))
                body(.escape(c))
            }
            i += 1
            runStart = i
        }
        body(.run(runStart ..< end))
    }

    /// Whether any of the eight bytes of `w` is a quote, a backslash, below 0x20 or above 0x7F
    /// (SWAR: a byte's high bit flags it; exact for these tests, no false negatives).
    @inline(__always)
    private static func needsAttention(_ w: UInt64) -> Bool {
        let high: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        let control = (w &- 0x2020_2020_2020_2020) & ~w
        let q = w ^ 0x2222_2222_2222_2222
        let quote = (q &- ones) & ~q
        let b = w ^ 0x5C5C_5C5C_5C5C_5C5C
        let backslash = (b &- ones) & ~b
        return ((w | control | quote | backslash) & high) != 0
    }

    @inline(__always)
    private static func shortEscape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""): return UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): return UInt8(ascii: "\\")
        case 0x0A: return UInt8(ascii: "n")
        case 0x0D: return UInt8(ascii: "r")
        case 0x09: return UInt8(ascii: "t")
        case 0x08: return UInt8(ascii: "b")
        case 0x0C: return UInt8(ascii: "f")
        default: return nil
        }
    }
}
