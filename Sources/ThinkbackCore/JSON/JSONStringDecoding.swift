#if canImport(Glibc)
import Glibc
#endif

/// Unescaping of JSON string contents that the scanner has already validated.
enum JSONStringDecoding {
    /// Appends the decoded form of validated, still-escaped string contents.
    /// Unpaired surrogates become U+FFFD.
    static func appendUnescaped(_ source: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        let count = source.count
        var i = 0
        var runStart = 0
        guard let base = source.baseAddress else { return }
        while i < count {
            if source[i] != UInt8(ascii: "\\") {
                // Runs between escapes are long (code, prose): let memchr find the next one.
                guard let next = memchr(base + i, 0x5C, count - i) else { break }
                i = base.distance(to: UnsafeRawPointer(next))
                continue
            }
            if runStart < i { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: source[runStart ..< i])) }
            let escape = source[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = hex4(source, i)
                i += 4
                if scalar & 0xFC00 == 0xD800 {
                    // A high surrogate pairs only with an immediately following `\uDC00…\uDFFF`.
                    if i + 6 <= count, source[i] == UInt8(ascii: "\\"), source[i + 1] == UInt8(ascii: "u") {
                        let low = hex4(source, i + 2)
                        if low & 0xFC00 == 0xDC00 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar & 0xFC00 == 0xDC00 {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar, to: &output)
            default:
                // `"`, `\` and `/` stand for themselves.
                output.append(escape)
            }
            runStart = i
        }
        if runStart < count { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: source[runStart ..< count])) }
    }

    /// The value of four hex digits at `at` (already validated).
    @inline(__always)
    static func hex4(_ source: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0 ..< 4 { value = value << 4 | UInt32(hexValue(source[at + k])) }
        return value
    }

    /// The value of a hex digit, or 0xFF for a non-hex byte.
    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return 0xFF
        }
    }

    /// Appends a Unicode scalar value as UTF-8.
    @inline(__always)
    static func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0 ..< 0x80:
            output.append(UInt8(scalar))
        case 0x80 ..< 0x800:
            output.append(UInt8(0xC0 | scalar >> 6))
            output.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800 ..< 0x10000:
            output.append(UInt8(0xE0 | scalar >> 12))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        default:
            output.append(UInt8(0xF0 | scalar >> 18))
            output.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            output.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            output.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
