/// Well-formed UTF-8 (Unicode Table 3-7): no overlongs, no surrogates, nothing above U+10FFFF.
enum UTF8Validation {
    /// The length of the well-formed multi-byte sequence starting at `i` (whose first byte is
    /// ≥ 0x80), or 0 if it is not well formed or runs past `end`.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let lead = p[i]
        @inline(__always) func cont(_ k: Int) -> Bool { i + k < end && p[i + k] & 0xC0 == 0x80 }
        @inline(__always) func inRange(_ k: Int, _ lo: UInt8, _ hi: UInt8) -> Bool {
            i + k < end && p[i + k] >= lo && p[i + k] <= hi
        }
        switch lead {
        case 0xC2 ... 0xDF:
            return cont(1) ? 2 : 0
        case 0xE0:
            return inRange(1, 0xA0, 0xBF) && cont(2) ? 3 : 0
        case 0xE1 ... 0xEC, 0xEE ... 0xEF:
            return cont(1) && cont(2) ? 3 : 0
        case 0xED:
            return inRange(1, 0x80, 0x9F) && cont(2) ? 3 : 0
        case 0xF0:
            return inRange(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0
        case 0xF1 ... 0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4:
            return inRange(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
        default:
            return 0
        }
    }

    /// Whether `bytes` is entirely well-formed UTF-8.
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        var i = 0
        let end = bytes.count
        while i < end {
            if base[i] < 0x80 { i += 1; continue }
            let n = sequenceLength(base, i, end)
            if n == 0 { return false }
            i += n
        }
        return true
    }
}
